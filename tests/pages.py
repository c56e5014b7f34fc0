"""Reading pages as a person would: unescaped text, and the error shown next to a field."""
import html
import re


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def error_after(page: str, field_id: str) -> str:
    """The error message shown right after the field ``field_id`` (empty if none)."""
    match = re.search(rf'id="{field_id}"[^>]*>.*?<p class="error" id="{field_id}-error">([^<]+)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""
