"""What councils see of their platform: its status page, planned maintenance and the notices they get."""
