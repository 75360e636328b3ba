"""Both reference flows through the console in Chromium; the customer uses `privlink cloud`."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import cli, log_in, project_with_token, shot
from tests.e2e.server import Server
from tests.inbound.conftest import greeting
from tests.support import free_port, lookup, wait_for

pytestmark = pytest.mark.slow


def cloud(*args: str, account: str = "acme") -> dict:  # type: ignore[type-arg]
    result: dict = cli("cloud", *args, "--account", account)  # type: ignore[type-arg]
    return result


def test_inbound_reference_in_the_console(page: Page, server: Server) -> None:
    from privlink import demo
    from privlink.testing import LoopThread

    nodes = tuple((f"broker-{i}", "127.0.0.1", free_port()) for i in range(2))
    loop = LoopThread()
    servers = loop.run(demo.start_nodes(nodes))
    try:
        token = project_with_token("shop")
        cli(
            "admin",
            "service",
            "register",
            "kafka-1",
            "--project",
            "shop",
            "--type",
            "kafka",
            "--cloud",
            "aws-eu-west-1",
            "--plan",
            "business-4",
            *[a for _n, h, p in nodes for a in ("--node", f"kafka={h}:{p}")],
        )
        cli(
            "admin",
            "service",
            "register",
            "pg-1",
            "--project",
            "shop",
            "--type",
            "pg",
            "--cloud",
            "aws-eu-west-1",
            "--plan",
            "business-4",
            "--node",
            "pg=127.0.0.1:5432",
        )
        log_in(page, server, token)
        expect(page.get_by_role("heading", name="Services of shop")).to_be_visible()
        expect(page.get_by_role("link", name="kafka-1")).to_be_visible()
        shot(page, "services")

        # Outside a project VPC the create is refused with the API's message.
        page.get_by_role("link", name="kafka-1").click()
        page.get_by_role("link", name="Network").click()
        expect(page.get_by_text("No PrivateLink yet")).to_be_visible()
        page.get_by_role("button", name="Create PrivateLink").click()
        principals = page.get_by_label("Principals (one ARN per line)")
        principals.fill("arn:aws:iam::12345:root")
        # Checked as it is typed, with the API's own words…
        expect(page.locator("#principals-check")).to_contain_text("Invalid principal")
        # …and refused on submit all the same.
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid principal")
        expect(page.get_by_label("Principals (one ARN per line)")).to_have_value(
            "arn:aws:iam::12345:root"
        )
        shot(page, "create-privatelink-error")

        # The platform puts the service into a project VPC (through the API, as avn would).
        import httpx

        headers = {"Authorization": f"aivenv1 {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
            vpc = api.post(
                "/v1/project/shop/vpcs",
                json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
            ).json()["project_vpc_id"]
            wait_for(lambda: api.get(f"/v1/project/shop/vpcs/{vpc}").json()["state"] == "ACTIVE")
            api.put("/v1/project/shop/service/kafka-1", json={"project_vpc_id": vpc})

        customer = cli("cloud", "account", "create", "acme")
        cvpc = cloud("vpc", "create")["id"]
        subnet = cloud("subnet", "create", "--vpc", cvpc, "--az", "euw1-az1")["id"]
        group = cloud("security-group", "create", "--vpc", cvpc, "--name", "kafka")["id"]
        cli(
            "cloud",
            "security-group",
            "allow",
            group,
            "--ports",
            "10000-31000",
            "--cidr",
            "127.0.0.0/8",
            "--account",
            "acme",
            as_json=False,
        )

        # The dialog is still open with the refused text: correct it and create again.
        page.get_by_label("Principals (one ARN per line)").fill(customer["principal"])
        page.get_by_role("button", name="Create", exact=True).click()
        expect(page.locator("#inbound-state")).to_have_text("active")
        service_name = page.locator("#aws-service-name").inner_text()
        assert re.fullmatch(r"com\.privlink\.vpce\.eu-west-1\.vpce-svc-[0-9a-f]{17}", service_name)
        expect(page.get_by_role("button", name="Copy AWS service name")).to_be_visible()
        shot(page, "network-inbound-active")

        # The customer's endpoint appears as a connection by itself (the page polls).
        endpoint = cloud(
            "endpoint",
            "create",
            "--vpc",
            cvpc,
            "--subnet",
            subnet,
            "--security-group",
            group,
            "--service-name",
            service_name,
        )
        connections = page.get_by_role("table", name="Connections")
        expect(connections).to_contain_text(endpoint["id"])

        # Advanced configuration: access for kafka, saved with one button.
        page.get_by_role("link", name="Overview").click()
        page.get_by_label("privatelink_access.kafka", exact=True).check()
        page.get_by_role("button", name="Save configuration").click()
        expect(page.get_by_role("status")).to_have_text("Saved.")
        page.get_by_role("link", name="Network").click()
        expect(connections).to_contain_text("active")
        expect(connections).to_contain_text(".kafka-1.shop.pl.privlink.internal")  # its name

        # Connection information through the endpoint (once kafka's nodes answer through
        # it), by the connection's name, and bytes behind it.
        page.get_by_role("link", name="Overview").click()
        route = page.locator("#route option", has_text="privatelink")

        def route_offered() -> bool:
            if route.count() > 0:
                return True
            page.reload()
            return False

        wait_for(route_offered, timeout=60)
        page.get_by_label("Access route").select_option("privatelink")
        expect(page).to_have_url(re.compile(r"route=privatelink"))
        expect(page.locator("#info-host")).to_have_text(re.compile(r"\.kafka-1\.shop\."))
        host = page.locator("#info-host").inner_text()
        port = int(page.locator("#info-port").inner_text())
        assert re.fullmatch(r"plc[0-9a-f]{11}\.kafka-1\.shop\.pl\.privlink\.internal", host)
        assert page.locator("#info-uri").inner_text().startswith(f"kcat -b {host}:{port}")
        address = lookup(host, server.dns_port).values
        assert address == sorted(a["address"] for a in endpoint["addresses"])
        assert greeting(address[0], port) in {"broker-0", "broker-1"}
        shot(page, "service-connection-information")

        # Edit principals: a bad one is refused in place; then a second principal is kept.
        page.get_by_role("link", name="Network").click()
        page.get_by_role("button", name="Edit principals").click()
        editor = page.get_by_label("Principals (one ARN per line)").last
        editor.fill(f"{customer['principal']}\nnot-an-arn")
        page.get_by_role("button", name="Save principals").click()
        expect(page.get_by_role("alert")).to_contain_text("Invalid principal")
        expect(page.locator("#edit-principals-text")).to_have_value(
            f"{customer['principal']}\nnot-an-arn"
        )
        page.locator("#edit-principals-text").fill(
            f"{customer['principal']}\narn:aws:iam::123456789012:role/ci"
        )
        page.get_by_role("button", name="Save principals").click()
        expect(page.get_by_text("arn:aws:iam::123456789012:role/ci", exact=True)).to_be_visible()

        page.get_by_role("button", name="Validate", exact=True).click()
        expect(page.get_by_role("region", name="Validation result")).to_contain_text(
            "All hops hold."
        )
        history = page.get_by_role("table", name="Status history")
        expect(history).to_contain_text("active")
        shot(page, "network-validate-history")

        page.get_by_role("button", name="Delete PrivateLink").click()
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text("No PrivateLink yet")).to_be_visible()
    finally:
        loop.run(demo.stop_nodes(servers))
        loop.close()


def test_outbound_reference_in_the_console(page: Page, server: Server) -> None:
    token = project_with_token("iot")
    cli(
        "admin",
        "service",
        "register",
        "mqtt-1",
        "--project",
        "iot",
        "--type",
        "mqtt",
        "--cloud",
        "aws-eu-west-1",
        "--plan",
        "dedicated-4",
        "--node",
        "mqtt=127.0.0.1:1883",
    )
    log_in(page, server, token)
    page.get_by_role("link", name="mqtt-1").click()
    page.get_by_role("link", name="Network").click()
    page.get_by_role("button", name="+PrivateLink").click()
    dialog = page.get_by_role("dialog", name="Create outbound PrivateLink")
    expect(dialog).to_be_visible()
    azs = page.locator("#facts-azs").inner_text().split(", ")
    principal = page.locator("#facts-principal").inner_text()
    assert page.locator("#facts-region").inner_text() == "eu-west-1"
    assert principal.endswith(":role/privlink-iot-mqtt-1")
    shot(page, "outbound-dialog")

    # Bad input: the message next to the field, the text kept.
    page.get_by_label("Endpoint service name").fill("vpce-svc-nope")
    dialog.get_by_role("button", name="Create PrivateLink").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid endpoint service name")
    expect(page.get_by_label("Endpoint service name")).to_have_value("vpce-svc-nope")

    # The customer's side, as the reference has it, with `privlink cloud`.
    backend = free_port()
    from privlink import demo
    from privlink.testing import LoopThread

    loop = LoopThread()
    servers = loop.run(demo.start_nodes((("customer-app", "127.0.0.1", backend),)))
    try:
        cli("cloud", "account", "create", "globex")
        cvpc = cloud("vpc", "create", account="globex")["id"]
        subnets = [
            cloud("subnet", "create", "--vpc", cvpc, "--az", az, account="globex")["id"]
            for az in azs
        ]
        cloud(
            "target-group",
            "create",
            "--name",
            "app",
            "--port",
            str(backend),
            "--health-port",
            str(backend),
            "--interval",
            "1",
            "--healthy-threshold",
            "2",
            account="globex",
        )
        cli(
            "cloud",
            "target-group",
            "register",
            "app",
            f"127.0.0.1:{backend}",
            "--account",
            "globex",
            as_json=False,
        )
        cloud(
            "nlb",
            "create",
            "--name",
            "app",
            *[a for s in subnets for a in ("--subnet", s)],
            account="globex",
        )
        cloud(
            "listener",
            "create",
            "--nlb",
            "app",
            "--port",
            "8883",
            "--target-group",
            "app",
            account="globex",
        )
        service = cloud("endpoint-service", "create", "--nlb", "app", account="globex")
        cloud("endpoint-service", "allow", service["id"], principal, account="globex")

        page.get_by_label("Endpoint service name").fill(service["name"])
        dialog.get_by_role("button", name="Create PrivateLink").click()
        links = page.get_by_role("table", name="Outbound links")
        expect(links).to_contain_text("pending-acceptance")
        link_id = re.search(r"plo[0-9a-f]{11}", links.inner_text()).group(0)  # type: ignore[union-attr]
        expect(page.get_by_role("button", name=f"Delete {link_id}")).to_be_disabled()
        shot(page, "outbound-pending")

        (request,) = cli("cloud", "connections", "list", service["id"], "--account", "globex")
        cli("cloud", "connections", "accept", service["id"], request["id"], "--account", "globex")
        expect(links).to_contain_text("running")
        expect(page.get_by_role("button", name=f"Delete {link_id}")).to_be_enabled()
        page.get_by_role("button", name=f"Validate {link_id}").click()
        expect(page.get_by_role("region", name="Validation result")).to_contain_text(
            "All hops hold."
        )
        shot(page, "outbound-running")
        page.get_by_role("button", name=f"Delete {link_id}").click()
        page.get_by_role("dialog", name=f"Delete link {link_id}?").get_by_role(
            "button", name="Confirm"
        ).click()
        expect(page.get_by_text("No outbound links.")).to_be_visible()
        expect(page.get_by_role("table", name="Status history")).to_contain_text("deleted")
    finally:
        loop.run(demo.stop_nodes(servers))
        loop.close()


def test_a_project_session_sees_no_other_project(page: Page, server: Server) -> None:
    mine = project_with_token("alpha")
    project_with_token("beta")
    cli(
        "admin",
        "service",
        "register",
        "secret-db",
        "--project",
        "beta",
        "--type",
        "pg",
        "--cloud",
        "aws-eu-west-1",
        "--plan",
        "business-4",
        "--node",
        "pg=127.0.0.1:5432",
    )
    log_in(page, server, mine)
    expect(page.get_by_text("No services in this project yet")).to_be_visible()
    for path in (
        "/console/projects/beta/services",
        "/console/projects/beta/services/secret-db",
        "/console/projects/beta/services/secret-db/network",
    ):
        response = page.goto(server.url + path)
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert page.get_by_label("Project").locator("option").all_inner_texts() == ["alpha"]


def test_a_read_only_session_looks_but_cannot_change(page: Page, server: Server) -> None:
    project_with_token("alpha")
    cli(
        "admin", "service", "register", "pg-1", "--project", "alpha", "--type", "pg",
        "--cloud", "aws-eu-west-1", "--plan", "business-4", "--node", "pg=127.0.0.1:5432",
    )  # fmt: skip
    reader = cli("admin", "token", "create", "--project", "alpha", "--role", "read-only")
    log_in(page, server, reader["full_token"])
    expect(page.get_by_text("read-only token")).to_be_visible()
    page.get_by_role("link", name="pg-1").click()
    expect(page.get_by_role("heading", name="Connection information")).to_be_visible()
    expect(page.get_by_role("button", name="Save configuration")).to_be_hidden()
    page.get_by_role("link", name="Network").click()
    expect(page.get_by_text("No PrivateLink yet")).to_be_visible()
    expect(page.get_by_role("button", name="Create PrivateLink")).to_be_hidden()
    shot(page, "read-only-network")
    # A change sent anyway (the form posted by hand) is refused by the server.
    answer = page.evaluate(
        """async () => {
            const csrf = document.querySelector('input[name=csrf]').value;
            const body = new URLSearchParams({csrf, principals: 'arn:aws:iam::123456789012:root'});
            const r = await fetch(location.pathname.replace(/network$/, 'privatelink'),
                                  {method: 'POST', body, redirect: 'manual'});
            return r.status;
        }"""
    )
    assert answer == 403
    expect(page.get_by_text("No PrivateLink yet")).to_be_visible()


def test_a_bad_token_is_refused_next_to_the_field(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/console/projects/alpha/services")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("API token").fill("plk_nope")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("API token")).to_have_value("plk_nope")
    shot(page, "login-error")


def test_pages_fit_a_narrow_screen(browser: Browser, server: Server) -> None:
    token = project_with_token("mobile")
    cli(
        "admin",
        "service",
        "register",
        "mqtt-1",
        "--project",
        "mobile",
        "--type",
        "mqtt",
        "--cloud",
        "aws-eu-west-1",
        "--plan",
        "dedicated-4",
        "--node",
        "mqtt=127.0.0.1:1883",
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, server, token)
        for path, name in (
            ("", "services"),
            ("/mqtt-1", "overview"),
            ("/mqtt-1/network", "network"),
        ):
            page.goto(f"{server.url}/console/projects/mobile/services{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{name} is {width}px wide on a 390px screen"
            shot(page, f"narrow-{name}")
    finally:
        context.close()


def test_webhooks_in_the_console(page: Page, server: Server) -> None:
    """Add a webhook (a bad URL refused in place; the secret shown once), see a delivery
    of the project's next event with its tries, redeliver it, delete the webhook."""
    token = project_with_token("shop")
    log_in(page, server, token)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("ftp://nope.example/")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("alert")).to_contain_text("http:// or https://")
    expect(page.get_by_label("URL")).to_have_value("ftp://nope.example/")  # input kept
    page.get_by_label("URL").fill("https://hooks.invalid/privlink")  # never answers
    page.get_by_label("Events").fill("vpc privatelink")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("status")).to_contain_text("shown this once")
    assert len(page.locator("#webhook-secret").inner_text()) >= 16
    expect(page.get_by_text("Events: vpc, privatelink")).to_be_visible()
    shot(page, "webhooks")
    # An event of the project: a PrivateLink asked for (a service in a project VPC).
    cli(
        "admin", "service", "register", "pg-1", "--project", "shop", "--type", "pg",
        "--cloud", "aws-eu-west-1", "--plan", "business-4", "--node", "pg=127.0.0.1:5432",
    )  # fmt: skip
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"aivenv1 {token}"})
    vpc = api.post(
        "/v1/project/shop/vpcs", json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.5.0.0/24"}
    ).json()["project_vpc_id"]
    wait_for(lambda: api.get(f"/v1/project/shop/vpcs/{vpc}").json()["state"] == "ACTIVE")
    api.put("/v1/project/shop/service/pg-1", json={"project_vpc_id": vpc})
    created = api.post(
        "/v1/project/shop/service/pg-1/privatelink/aws",
        json={"principals": ["arn:aws:iam::123456789012:root"]},
    )
    assert created.status_code == 200, created.text
    deliveries = page.locator("table[aria-label^='Deliveries of']")

    def tried() -> bool:
        page.goto(f"{server.url}/console/projects/shop/webhooks")  # not a reload: a re-POST
        # Both of its events (creating, active): then nothing more comes.
        return deliveries.count() > 0 and "privatelink.active" in deliveries.inner_text()

    wait_for(tried, timeout=60)
    rows = deliveries.locator("tbody tr")
    before = rows.count()
    page.get_by_role("button", name="Redeliver").first.click()
    expect(rows).to_have_count(before + 1)  # the same event, once more
    page.get_by_role("button", name=re.compile("Delete webhook")).click()
    expect(page.get_by_text("No deliveries yet")).to_have_count(0)
    expect(page.locator("#webhook-secret")).to_have_count(0)
    assert "whk" not in page.locator("main").inner_text()


def test_azure_and_google_in_the_console(page: Page, server: Server) -> None:
    """The service's cloud decides the Network page's flow: Azure's subscriptions, approval
    and endpoint address; Google's approval with the address."""
    token = project_with_token("shop")
    headers = {"Authorization": f"aivenv1 {token}"}
    clouds = {"az-1": "azure-westeurope", "gc-1": "google-europe-west1"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        for name, cloud_name in clouds.items():
            cli(
                "admin", "service", "register", name, "--project", "shop", "--type", "kafka",
                "--cloud", cloud_name, "--plan", "business-4", "--node", "kafka=127.0.0.1:9092",
            )  # fmt: skip
            vpc = api.post(
                "/v1/project/shop/vpcs",
                json={"cloud_name": cloud_name, "network_cidr": "10.0.0.0/24"},
            ).json()["project_vpc_id"]
            wait_for(
                lambda vpc=vpc: api.get(f"/v1/project/shop/vpcs/{vpc}").json()["state"] == "ACTIVE"
            )
            api.put(f"/v1/project/shop/service/{name}", json={"project_vpc_id": vpc})
    subscription = cli("cloud", "account", "create", "acme")["azure_subscription_id"]
    log_in(page, server, token)

    # -- Azure: subscriptions checked as typed, then approval and the address --------
    page.goto(f"{server.url}/console/projects/shop/services/az-1/network")
    expect(page.get_by_role("heading", name="Azure Private Link (inbound)")).to_be_visible()
    expect(page.get_by_role("heading", name="Outbound PrivateLink")).to_have_count(0)
    page.get_by_role("button", name="Create PrivateLink").click()
    field = page.get_by_label("Subscription IDs (one per line)")
    field.fill("not-a-guid")
    expect(page.locator("#principals-check")).to_contain_text("Invalid Azure subscription ID")
    field.fill(subscription)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#inbound-state")).to_have_text("active")
    alias = page.locator("#azure-alias").inner_text()
    assert alias.endswith(".westeurope.azure.privatelinkservice")

    base = ("--account", "acme", "--region", "westeurope")
    vnet = cli("cloud", "azure", "vnet", "create", *base)["id"]
    subnet = cli("cloud", "azure", "subnet", "create", "--vnet", vnet, *base)["id"]
    endpoint = cli(
        "cloud", "azure", "private-endpoint", "create", "--vnet", vnet, "--subnet", subnet,
        "--alias", alias, *base,
    )  # fmt: skip
    connections = page.get_by_role("table", name="Connections")
    expect(connections).to_contain_text("pending-user-approval")
    expect(connections).to_contain_text(endpoint["resource_id"])
    page.get_by_role("button", name=re.compile(r"Approve plc")).click()
    expect(connections.locator(".badge")).to_have_text("connected")
    page.get_by_label("Endpoint address").fill("10.200.0.9")
    page.get_by_role("button", name=re.compile(r"Set address of plc")).click()
    expect(page.get_by_role("alert")).to_contain_text("outside the subnet")
    page.get_by_label("Endpoint address").fill(endpoint["ip_address"])
    page.get_by_role("button", name=re.compile(r"Set address of plc")).click()
    expect(connections.locator(".badge")).to_have_text("active")
    expect(connections).to_contain_text(".az-1.shop.pl.privlink.internal")
    shot(page, "network-azure-active")

    # -- Google: nothing to fill at create; approve with the endpoint's address ------
    page.goto(f"{server.url}/console/projects/shop/services/gc-1/network")
    expect(
        page.get_by_role("heading", name="Google Private Service Connect (inbound)")
    ).to_be_visible()
    page.get_by_role("button", name="Create PrivateLink").click()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#inbound-state")).to_have_text("active")
    attachment = page.locator("#google-attachment").inner_text()
    base = ("--account", "acme", "--region", "europe-west1")
    network = cli("cloud", "gcp", "network", "create", *base)["id"]
    gsubnet = cli("cloud", "gcp", "subnet", "create", "--network", network, *base)["id"]
    psc = cli(
        "cloud", "gcp", "endpoint", "create", "--network", network, "--subnet", gsubnet,
        "--target", attachment, *base,
    )  # fmt: skip
    expect(connections).to_contain_text(psc["psc_connection_id"])
    page.get_by_label("Endpoint address").fill("not-an-ip")
    page.get_by_role("button", name=re.compile(r"Approve plc")).click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid IP address")
    page.get_by_label("Endpoint address").fill(psc["ip_address"])
    page.get_by_role("button", name=re.compile(r"Approve plc")).click()
    expect(connections.locator(".badge")).to_have_text("active")  # the page polls
    expect(connections).to_contain_text(".gc-1.shop.pl.privlink.internal")  # its name
    expect(connections).to_contain_text(psc["ip_address"])
    shot(page, "network-google-active")
