"""Email of rendered reports: recipients and privacy rules, message building, SMTP delivery with
its ledger. Imports reports and below."""
