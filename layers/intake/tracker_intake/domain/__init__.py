"""The domain core: config rules, eligibility, the claim protocol. No boto3, no requests."""
