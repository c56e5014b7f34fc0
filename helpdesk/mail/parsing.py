"""Reading e-mail as it really arrives: the standard library's parser, then forgiving decoding.

Charsets are decoded as browsers do (``iso-8859-1`` and ``us-ascii`` labels mean Windows-1252, known
misspellings are mapped), raw 8-bit headers are recovered, HTML-only mail gets a readable text
(html2text), mbox ``From `` lines and bare CR line endings are normalised, and machine-generated mail
(auto-replies, bounces, lists) is recognised. Nothing here touches the database.
"""
from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import html2text

MAX_HEADER_LENGTH = 998
# Labels as mail writes them -> codecs Python knows. Latin-1 and ASCII labels mean Windows-1252, as
# the WHATWG encoding standard (and so every browser) reads them.
CHARSET_ALIASES = {
    "iso-8859-1": "windows-1252", "iso8859-1": "windows-1252", "latin1": "windows-1252",
    "latin-1": "windows-1252", "us-ascii": "windows-1252", "ascii": "windows-1252", "ansi_x3.4-1968": "windows-1252",
    "iso-gb2312": "gb18030", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949",
    "unicode-1-1-utf-7": "utf-7", "uft-8": "utf-8", "utf8": "utf-8", "x-unknown": "utf-8", "unknown-8bit": "utf-8",
    "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932", "sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "windows-874": "cp874", "x-mac-roman": "mac_roman",
}
OUT_OF_OFFICE = re.compile(
    r"^\s*(auto(matic|matische)?[ -]?(reply|antwort|response)|out of (the )?office|respuesta autom[aá]tica|"
    r"fuera de la oficina|resposta autom[aà]tica|fora de l'oficina|absent|absence|vacation|vacaciones|"
    r"vacances|vacan[cç]es|autorespuesta|r[eé]ponse automatique)", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery (status|failure|has failed)|returned mail|mail delivery failed|failure notice|"
    r"non remis|no entregad|no s'ha pogut lliurar|unzustellbar|not delivered)", re.IGNORECASE)
AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|post_master|mail-daemon|maildaemon)(@|$)",
                               re.IGNORECASE)
NO_REPLY_SENDERS = re.compile(r"^(no-?reply|do-?not-?reply|donotreply)[^@]*@", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")

_text_maker = html2text.HTML2Text()
_text_maker.body_width = 0
_text_maker.ignore_images = True
_text_maker.unicode_snob = True
_text_maker.ignore_emphasis = True


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    is_inline: bool = False


@dataclass
class ParsedMail:
    message_id: str
    has_message_id: bool
    subject: str
    from_name: str
    from_address: str
    to: list[tuple[str, str]]
    cc: list[tuple[str, str]]
    reply_to: list[str]
    in_reply_to: list[str]
    references: list[str]
    date: datetime | None
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str = ""  # "", "auto_reply" or "bounce"
    automatic_reason: str = ""
    bounced_message_ids: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this message answers, the most direct first."""
        return list(dict.fromkeys(self.in_reply_to + list(reversed(self.references)) + self.bounced_message_ids))


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")


def normalise_raw(raw: bytes) -> bytes:
    """Make every line end in LF (bare CR included), drop an mbox ``From `` line and a stray line or two
    of junk before the headers (forwarding tools add "---- Original email message ----")."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    for _ in range(3):
        first, _, rest = raw.partition(b"\n")
        if first.startswith(b"From ") or (first.strip() and not _HEADER_LINE.match(first)
                                          and _HEADER_LINE.match(rest)):
            raw = rest
        else:
            break
    return raw


_DIGESTED_HEADERS = (b"from", b"to", b"cc", b"date", b"subject", b"content-type", b"content-transfer-encoding")
_MBOX_QUOTED = re.compile(rb"^>(>*From )", re.MULTILINE)


def content_digest(raw: bytes) -> str:
    """What makes two copies the same message: who wrote it to whom and when (From, To, Cc, Date), its
    Subject, and its body with its attachments (all that follows the headers, with the two headers that say
    how to read it), line endings and mbox quoting undone. The trace headers servers add on the way
    (Received, Delivered-To, Return-Path, DKIM and spam verdicts…) and the Message-ID are left out, so a
    message fetched again is recognised while another one that reuses its Message-ID is not."""
    raw = normalise_raw(raw)
    head, _, body = raw.partition(b"\n\n")
    wanted: dict[bytes, bytes] = {}
    name = b""
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded line continues the header before it
            if name in wanted:
                wanted[name] += b" " + line.strip()
            continue
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in _DIGESTED_HEADERS and name not in wanted:
            wanted[name] = value.strip()
    digest = hashlib.sha256()
    for key in _DIGESTED_HEADERS:
        digest.update(key + b":" + b" ".join(wanted.get(key, b"").split()) + b"\n")
    digest.update(b"\n" + _MBOX_QUOTED.sub(rb"\1", body).rstrip())
    return digest.hexdigest()


def codec_for(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip('"').lower()
    label = CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


SEVEN_BIT_CODECS = ("utf-7", "iso2022_jp_ext", "iso2022_jp", "iso2022_kr", "utf-16", "utf-32")


def decode_bytes(data: bytes, label: str | None) -> str:
    """Text from bytes, without NUL characters (PostgreSQL text cannot hold them; they are never meant)."""
    return _decode_bytes(data, label).replace("\x00", "")


def _decode_bytes(data: bytes, label: str | None) -> str:
    """Text from bytes. Bytes that are valid UTF-8 are UTF-8 whatever the label says (legacy 8-bit text is
    almost never valid UTF-8, and mislabelled UTF-8 is common); otherwise the label, then Windows-1252."""
    codec = codec_for(label)
    if codec is None or not codec.startswith(SEVEN_BIT_CODECS):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            return data.decode(codec, errors="replace")
    return data.decode("windows-1252", errors="replace")


def _recover_8bit(value: str, hint: str | None = None) -> str:
    """Headers with raw 8-bit bytes arrive as surrogate escapes: decode them as UTF-8, else in the
    message's own body charset, else Windows-1252."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    codec = codec_for(hint) if hint else None
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return data.decode("windows-1252", errors="replace")


def header_text(value: object, hint: str | None = None) -> str:
    """A header as readable text: encoded words decoded (with the charset fallbacks), folding undone."""
    if value is None:
        return ""
    value = _recover_8bit(str(value), hint).replace("\x00", "")
    value = re.sub(r"\r?\n[ \t]+", " ", value).replace("\n", " ")
    try:
        chunks = decode_header(value)
    except Exception:  # a malformed encoded word: keep the text as it is
        return value.strip()[:MAX_HEADER_LENGTH * 4]
    parts = []
    for chunk, charset in chunks:
        parts.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    text = "".join(parts)
    return re.sub(r"\s+", " ", text).strip()


def raw_headers(message: Message, name: str) -> list[str]:
    """A header's values as they came (8-bit bytes kept as surrogate escapes, not replaced)."""
    return [value for key, value in message.raw_items() if key.lower() == name.lower()]


def raw_header(message: Message, name: str) -> str | None:
    values = raw_headers(message, name)
    return values[0] if values else None


def _addresses(message: Message, name: str, hint: str | None = None) -> list[tuple[str, str]]:
    values = [header_text(value, hint) for value in raw_headers(message, name)]
    found = []
    for display, address in getaddresses(values):
        address = address.strip().strip("<>").lower()
        if "@" in address:
            found.append((display.strip().strip('"'), address))
    return found


def _ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(str(value or "")) or ([f"<{str(value).strip()}>"] if value and "@" in str(value)
                                                      and " " not in str(value).strip() else [])


def html_to_text(html: str) -> str:
    try:
        text = _text_maker.handle(html)
    except Exception:  # html2text gives up on some broken markup: strip the tags instead
        return re.sub(r"<[^>]+>", " ", html).strip()
    return re.sub(r"^#{1,6} ", "", text, flags=re.MULTILINE).strip()  # headings read as plain lines


def header_hint(charsets: list[str | None]) -> str | None:
    """The charset to try on raw 8-bit headers: the message's first non-Latin one (Japanese mail labelled
    ISO-2022-JP writes raw headers in Shift_JIS)."""
    for charset in charsets:
        codec = codec_for(charset)
        if codec and codec not in ("cp1252", "utf-8", "ascii"):
            return "cp932" if codec.startswith("iso2022_jp") else codec
    return None


def _payload_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)  # bytes, or None for a multipart
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _subparts(part: Message) -> list[Message]:
    """The messages a multipart or message/* part holds (typeshed types ``get_payload()`` loosely)."""
    payload = part.get_payload()
    return [item for item in payload if isinstance(item, Message)] if isinstance(payload, list) else []


def parse(raw: bytes) -> ParsedMail:
    """Read a raw message; never raises on broken MIME (it degrades to what can be read)."""
    raw = normalise_raw(raw)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[Attachment] = []
    bounced: list[str] = []
    report_types: set[str] = set()

    def walk(part: Message, in_alternative: bool = False) -> None:
        content_type = part.get_content_type()
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = header_text(part.get_filename()) if part.get_filename() else ""
        if content_type == "message/delivery-status":
            report_types.add("delivery-status")
            body = b"".join(block.as_bytes() for block in _subparts(part)) if part.is_multipart() \
                else _payload_bytes(part)
            attachments.append(Attachment(filename or "delivery-status.txt", content_type, body))
            return
        if content_type in ("message/rfc822", "text/rfc822-headers"):
            embedded = _subparts(part)
            headers_text = (embedded[0].as_string() if embedded
                            else decode_bytes(_payload_bytes(part), part.get_content_charset()))
            match = re.search(r"^message-id:\s*(<[^>]+>)", headers_text, re.IGNORECASE | re.MULTILINE)
            if match:
                bounced.append(match.group(1))
            data = embedded[0].as_bytes() if embedded else _payload_bytes(part)
            attachments.append(Attachment(filename or ("message.eml" if content_type == "message/rfc822"
                                                       else "headers.txt"), content_type, data))
            return
        if part.is_multipart():
            if content_type == "multipart/report":
                report_types.add(str(part.get_param("report-type") or "").lower())
            for child in part.get_payload():
                if isinstance(child, Message):
                    walk(child, in_alternative or content_type == "multipart/alternative")
            return
        is_body = disposition != "attachment" and not filename
        if is_body and (content_type == "text/plain" or content_type.startswith("multipart/")):
            texts.append(decode_bytes(_payload_bytes(part), part.get_content_charset()))
            return
        if is_body and content_type == "text/html":
            html = decode_bytes(_payload_bytes(part), part.get_content_charset())
            htmls.append(html)
            if not in_alternative:  # text and HTML parts side by side in a mixed message: keep the order
                texts.append(html_to_text(html))
            return
        data = _payload_bytes(part)
        content_id = str(part.get("Content-ID") or "").strip().strip("<>")
        if not filename:
            extension = mimetypes.guess_extension(content_type) or ".bin"
            filename = f"{'image' if content_type.startswith('image/') else 'attachment'}-" \
                       f"{len(attachments) + 1}{extension}"
        attachments.append(Attachment(filename, content_type, data, content_id,
                                      is_inline=bool(content_id) and disposition != "attachment"))

    walk(message)
    hint = header_hint(message.get_charsets())
    subject = header_text(raw_header(message, "Subject"), hint)[:MAX_HEADER_LENGTH]
    senders = (_addresses(message, "From", hint) or _addresses(message, "Sender", hint)
               or _addresses(message, "Reply-To", hint))
    if not senders:
        display, address = parseaddr(header_text(raw_header(message, "From"), hint))
        senders = [(display, address.lower())] if address else [("", "")]
    from_name, from_address = senders[0]
    message_ids = _ids(message.get("Message-ID"))
    has_id = bool(message_ids)
    # Without one, the content names it: the same message fetched again gets the same id.
    message_id = message_ids[0] if has_id else f"<{content_digest(raw)}@synthetic.invalid>"
    try:
        date = parsedate_to_datetime(str(message.get("Date"))) if message.get("Date") else None
        if date is not None and date.tzinfo is None:
            date = None
    except (TypeError, ValueError, IndexError):
        date = None
    text = "\n\n".join(chunk.strip("\n") for chunk in texts if chunk.strip())
    html = "\n".join(htmls)
    if not text.strip() and html:
        text = html_to_text(html)
    parsed = ParsedMail(
        message_id=message_id[:998], has_message_id=has_id, subject=subject, from_name=from_name[:200],
        from_address=from_address[:254], to=_addresses(message, "To", hint), cc=_addresses(message, "Cc", hint),
        reply_to=[address for _, address in _addresses(message, "Reply-To", hint)],
        in_reply_to=_ids(message.get("In-Reply-To")), references=_ids(message.get("References")), date=date,
        text=text, html=html, attachments=attachments, bounced_message_ids=bounced,
        headers={name.lower(): header_text(value) for name, value in message.raw_items()
                 if name.lower() in AUTOMATIC_HEADERS})
    parsed.automatic, parsed.automatic_reason = classify(parsed, message.get_content_type(), report_types)
    return parsed


AUTOMATIC_HEADERS = frozenset({"auto-submitted", "precedence", "x-autoreply", "x-autorespond",
                               "x-auto-response-suppress", "list-id", "return-path", "x-loop",
                               "x-ms-exchange-inbox-rules-loop", "x-helpdesk-loop"})


def classify(mail: ParsedMail, content_type: str, report_types: set[str]) -> tuple[str, str]:
    """("bounce" | "auto_reply" | "", why) for a message a person did not write."""
    headers = mail.headers
    if "delivery-status" in report_types:
        return "bounce", "delivery status report"
    unnamed_sender = not mail.from_address or "@" not in mail.from_address
    if (AUTOMATIC_SENDERS.match(mail.from_address or "") or unnamed_sender) and (
            BOUNCE_SUBJECT.search(mail.subject) or mail.bounced_message_ids):
        return "bounce", f"from {mail.from_address or 'no sender'}"
    if report_types:
        return "auto_reply", f"{'/'.join(sorted(report_types))} report"
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto_reply", f"Auto-Submitted: {auto_submitted}"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return "auto_reply", f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id", "x-helpdesk-loop"):
        if name in headers:
            return "auto_reply", name
    if headers.get("return-path", "").strip() in ("<>", ""):
        if "return-path" in headers:
            return "auto_reply", "empty Return-Path"
    if AUTOMATIC_SENDERS.match(mail.from_address or "") or NO_REPLY_SENDERS.match(mail.from_address or ""):
        return "auto_reply", f"from {mail.from_address}"
    if OUT_OF_OFFICE.search(mail.subject):
        return "auto_reply", "out-of-office subject"
    return "", ""
