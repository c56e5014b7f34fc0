"""The notice time of planned maintenance is a setting, checked at start-up like the others."""
import pytest

from helpdesk import config
from helpdesk.config import ConfigError
from tests.conftest import SECRET_KEY


def test_the_maintenance_notice_time_is_a_setting_checked_at_start_up(tmp_path):
    assert config.load(tmp_path, {}, environ={"HELPDESK_SECRET_KEY": SECRET_KEY})["MAINTENANCE_NOTICE_HOURS"] == 48
    assert config.load(tmp_path, {}, environ={"HELPDESK_SECRET_KEY": SECRET_KEY,
                                              "HELPDESK_MAINTENANCE_NOTICE_HOURS": "24"})["MAINTENANCE_NOTICE_HOURS"] == 24
    for wrong, message in (("0", "must be between 1 and 720"), ("a day", "expected a whole number")):
        with pytest.raises(ConfigError, match=f"HELPDESK_MAINTENANCE_NOTICE_HOURS: {message}"):
            config.load(tmp_path, {}, environ={"HELPDESK_SECRET_KEY": SECRET_KEY,
                                               "HELPDESK_MAINTENANCE_NOTICE_HOURS": wrong})
