"""The accessibility statement that Royal Decree 1112/2018 asks of a public body's web service: public, linked from
every page's footer."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("accessibility", __name__)

#: When the statement was prepared and last reviewed (the decree asks for the date): change it with each review,
#: after the checks in tests/test_phone_and_axe.py and a keyboard walk through the desk.
PREPARED_ON = date(2026, 12, 4)
#: The automated checker the review used (the version bundled by the tests' axe-playwright-python).
CHECKER = "axe-core 4.12"


@bp.route("/accessibility")
def statement() -> ResponseReturnValue:
    """The accessibility statement: conformance, what is not accessible, how it was assessed, whom to ask."""
    config = current_app.config
    return render_template("accessibility.html", prepared_on=PREPARED_ON, checker=CHECKER,
                           email=config["SUPPORT_EMAIL"], phone=config["SUPPORT_PHONE"])
