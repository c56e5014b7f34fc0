"""Each council's platform instance: its Decidim organisation, at its own address."""
