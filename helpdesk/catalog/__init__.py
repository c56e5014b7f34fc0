"""The service catalogue: annual calls, requests, grants and renewals (a later issue)."""
