"""Adapters: the only modules that talk to GitHub, DynamoDB, SQS, Lambda or a session backend."""
