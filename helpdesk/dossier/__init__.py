"""The renewal dossier: what a council's grant has given it, on one page and in a PDF."""
