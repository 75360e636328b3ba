"""Cloud drivers behind one contract: `local` (embedded) and `aws` (boto3)."""
