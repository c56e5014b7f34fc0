"""Domain-free pieces shared by every domain: model types, audit trail, forms, errors."""
