"""Property tests for the validators of names and identifiers users type."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privlink.domain import validation
from privlink.domain.errors import InvalidInput

accounts = st.text(alphabet=string.digits, min_size=12, max_size=12)
iam_names = st.text(
    alphabet=string.ascii_letters + string.digits + "+=,.@_-", min_size=1, max_size=64
)
hex17 = st.text(alphabet="0123456789abcdef", min_size=17, max_size=17)
regions = st.sampled_from(["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1"])
providers = st.sampled_from(["amazonaws", "privlink"])


class TestPrincipal:
    @given(
        accounts,
        st.one_of(
            st.just("root"), iam_names.map("user/{}".format), iam_names.map("role/{}".format)
        ),
    )
    def test_accepts_root_user_and_role(self, account: str, scope: str) -> None:
        """Every well-formed root, user or role ARN is accepted unchanged."""
        arn = f"arn:aws:iam::{account}:{scope}"
        assert validation.principal(arn) == arn
        assert validation.principal_account(arn) == account

    def test_accepts_star(self) -> None:
        """`*` allows every principal, as AWS accepts it."""
        assert validation.principal("*") == "*"
        assert validation.principal_account("*") is None

    @given(accounts, iam_names, iam_names, st.sampled_from(["user", "role"]))
    def test_rejects_paths(self, account: str, path: str, name: str, kind: str) -> None:
        """A user or role with a path is rejected, and the message says why."""
        arn = f"arn:aws:iam::{account}:{kind}/{path}/{name}"
        with pytest.raises(InvalidInput, match="paths are not accepted"):
            validation.principal(arn)

    @given(accounts, iam_names)
    def test_rejects_assumed_role(self, account: str, name: str) -> None:
        """Session ARNs are refused with a hint to allow the role."""
        with pytest.raises(InvalidInput, match="assumed-role"):
            validation.principal(f"arn:aws:sts::{account}:assumed-role/{name}/session")

    @given(
        accounts,
        st.sampled_from(
            ["arn:aws-cn:iam::", "arn:aws-us-gov:iam::", "arn:aws:s3::", "arn:aws:sts::"]
        ),
    )
    def test_rejects_other_partitions_and_services(self, account: str, prefix: str) -> None:
        """Only the `aws` partition's IAM service is accepted."""
        with pytest.raises(InvalidInput):
            validation.principal(f"{prefix}{account}:root")

    @given(accounts, st.sampled_from([" ", "\t", "\n"]), st.sampled_from(["before", "after"]))
    def test_rejects_whitespace(self, account: str, space: str, where: str) -> None:
        """Whitespace around or inside an ARN is an error, not silently stripped."""
        arn = f"arn:aws:iam::{account}:root"
        arn = space + arn if where == "before" else arn + space
        with pytest.raises(InvalidInput):
            validation.principal(arn)

    @given(st.text(max_size=300))
    def test_message_names_value_and_forms(self, value: str) -> None:
        """Any rejected value gets a message naming it and listing the accepted forms."""
        try:
            validation.principal(value)
        except InvalidInput as error:
            assert repr(value[:80])[:40] in error.message
            assert validation.PRINCIPAL_FORMS in error.message
        else:
            assert value == "*" or value.startswith("arn:aws:iam::")

    def test_rejects_empty_and_bad_accounts(self) -> None:
        """Empty strings and accounts of the wrong length are invalid."""
        for bad in [
            "",
            "arn:aws:iam::12345678901:root",
            "arn:aws:iam::1234567890123:root",
            "arn:aws:iam::123456789012:group/admins",
            "arn:aws:iam::123456789012:user/",
        ]:
            with pytest.raises(InvalidInput):
                validation.principal(bad)


class TestAzId:
    @given(st.sampled_from(["use1", "euw1", "apse2", "usw2", "cac1"]), st.integers(1, 9))
    def test_accepts_az_ids(self, prefix: str, number: int) -> None:
        value = f"{prefix}-az{number}"
        assert validation.az_id(value) == value

    @given(st.sampled_from(["eu-west-1a", "us-east-1b", "use1az1", "USE1-AZ1", "", "use1-az"]))
    def test_rejects_zone_names_and_malformed(self, value: str) -> None:
        """Zone names like eu-west-1a are refused with an explanation."""
        with pytest.raises(InvalidInput, match="AZ ID"):
            validation.az_id(value)


class TestEndpointServiceName:
    @given(providers, regions, hex17)
    def test_accepts_and_extracts_region(self, provider: str, region: str, suffix: str) -> None:
        for digits in (suffix, suffix[:8]):
            name = f"com.{provider}.vpce.{region}.vpce-svc-{digits}"
            assert validation.endpoint_service_name(name) == name
            assert validation.service_name_region(name) == region

    @given(
        providers, regions, st.text(alphabet="0123456789abcdefABCDEFxyz", min_size=0, max_size=20)
    )
    def test_rejects_wrong_suffix(self, provider: str, region: str, suffix: str) -> None:
        # 17 hex digits, or 8 for services older than AWS's long IDs
        assume(not (len(suffix) in (8, 17) and all(c in "0123456789abcdef" for c in suffix)))
        with pytest.raises(InvalidInput, match="vpce-svc-<17 hex digits>"):
            validation.endpoint_service_name(f"com.{provider}.vpce.{region}.vpce-svc-{suffix}")


class TestResourceIds:
    @given(hex17)
    def test_vpce_ids(self, suffix: str) -> None:
        assert validation.resource_id("vpce-svc", f"vpce-svc-{suffix}")
        assert validation.resource_id("vpce", f"vpce-{suffix}")
        with pytest.raises(InvalidInput):
            validation.resource_id("vpce", f"vpce-svc-{suffix}")

    @given(st.text(alphabet="0123456789abcdef", min_size=11, max_size=11))
    def test_plc_ids(self, suffix: str) -> None:
        assert validation.resource_id("plc", f"plc{suffix}") == f"plc{suffix}"

    @given(st.text(max_size=30))
    def test_random_text_is_not_a_plc(self, value: str) -> None:
        assume(not (len(value) == 14 and value.startswith("plc")))
        with pytest.raises(InvalidInput, match="plc<11 lowercase hex digits>"):
            validation.resource_id("plc", value)


names = st.from_regex(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,40}", fullmatch=True)


class TestProjectAndServiceNames:
    @given(names)
    def test_accepts_lowercase_labels(self, value: str) -> None:
        assert validation.project_name(value) == value
        assert validation.service_name(value) == value

    @given(st.text(max_size=80))
    def test_rejections_are_consistent_with_the_rule(self, value: str) -> None:
        """Accepted names satisfy every rule; everything else is refused with the rule."""
        try:
            validation.service_name(value)
        except InvalidInput as error:
            assert "lowercase letters, digits and single hyphens" in error.message
        else:
            assert 1 <= len(value) <= 64
            assert value[0] in string.ascii_lowercase
            assert set(value) <= set(string.ascii_lowercase + string.digits + "-")
            assert not value.endswith("-")
            assert "--" not in value

    def test_length_limits(self) -> None:
        assert validation.project_name("a" * 63)
        with pytest.raises(InvalidInput, match="1-63"):
            validation.project_name("a" * 64)
        assert validation.service_name("a" * 64)
        with pytest.raises(InvalidInput, match="1-64"):
            validation.service_name("a" * 65)
