"""Knowledge base: FAQ articles in Catalan, Spanish and English, suggested while councils type, linked
from replies and acknowledgements, public without login."""
