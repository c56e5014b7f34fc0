"""Users, roles, login and the checks that decide who may see what."""
