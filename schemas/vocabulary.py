"""Closed vocabularies shared by the models (domain.md sections 1 and 7, contract sections 2 to 4)."""

ANALYTES = ["ALT", "AST", "ALP", "GGT", "TBIL", "DBIL", "INR", "ALB"]
CANONICAL_UNITS = ["U/L", "mg/dL", "ratio", "g/dL"]
COUNTED_STATUSES = ["F", "C", "U"]
SUBSTANCES = ["kratom", "methadone", "buprenorphine", "other"]
COMPARATORS = ["<", ">", "<=", ">="]
ULN_SOURCES = ["range", "default"]
FEED_KINDS = ["labs", "dosing"]
FILE_STATUSES = ["ok", "partly_quarantined", "unreadable"]
PATIENT_KEY_PATTERN = r"^pk_[0-9a-f]{20}$"
