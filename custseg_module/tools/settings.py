# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Every ``custseg.*`` system parameter, declared once and read through one
parser that names the parameter when its stored text is not what it should be.

The settings form only stores valid values, but an administrator, an import or
a script can store anything in Settings › Technical › System Parameters. A run
checks them all before it starts any work (:func:`check_settings`), so a bad
value fails the run at once, with the parameter's name, instead of a bare
``int()`` error after the aggregate and the engine.
"""

import dataclasses

from odoo.exceptions import ValidationError

from ..engine import SegmentationConfig

_ENGINE_DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(SegmentationConfig)
    if field.default is not dataclasses.MISSING
}

# Kinds of stored text.
INTEGER = "integer"  # "5"; "5.0" too, as a float setting may have stored it
NUMBER = "number"  # "0.8"
FLAG = "flag"  # "True" / "False", as Odoo's settings store a boolean
RECORD_ID = "record id"  # "7": a positive integer

# Parameter -> (kind, default when the parameter is absent or empty).
PARAMETERS = {
    "custseg.lookback_days": (INTEGER, 0),
    "custseg.bins": (INTEGER, _ENGINE_DEFAULTS["bins"]),
    "custseg.tier_key_cut": (NUMBER, _ENGINE_DEFAULTS["tier_cuts"][0]),
    "custseg.tier_important_cut": (NUMBER, _ENGINE_DEFAULTS["tier_cuts"][1]),
    "custseg.tier_ordinary_cut": (NUMBER, _ENGINE_DEFAULTS["tier_cuts"][2]),
    "custseg.loyal_min_frequency": (INTEGER, _ENGINE_DEFAULTS["loyal_min_frequency"]),
    "custseg.at_risk_gap_multiple": (NUMBER, _ENGINE_DEFAULTS["at_risk_gap_multiple"]),
    "custseg.at_risk_min_days": (INTEGER, _ENGINE_DEFAULTS["at_risk_min_days"]),
    "custseg.at_risk_max_days": (INTEGER, _ENGINE_DEFAULTS["at_risk_max_days"]),
    "custseg.churn_days": (INTEGER, _ENGINE_DEFAULTS["churn_days"]),
    "custseg.horizon_days": (INTEGER, _ENGINE_DEFAULTS["horizon_days"]),
    "custseg.clv_days": (INTEGER, _ENGINE_DEFAULTS["clv_days"]),
    "custseg.k_min": (INTEGER, _ENGINE_DEFAULTS["k_min"]),
    "custseg.k_max": (INTEGER, _ENGINE_DEFAULTS["k_max"]),
    "custseg.clustering": (FLAG, _ENGINE_DEFAULTS["clustering"]),
    "custseg.followups_enabled": (FLAG, True),
    "custseg.control_groups": (FLAG, True),
    "custseg.followup_locked": (FLAG, False),
    "custseg.followups_on_baseline": (FLAG, False),
    "custseg.followup_user_id": (RECORD_ID, None),
}


class BadSetting(ValueError):
    """A stored parameter whose text is not of its kind."""

    def __init__(self, key, raw, kind):
        super().__init__(f"{key} = {raw!r} is not a {kind}")
        self.key, self.raw, self.kind = key, raw, kind


def parse_setting(key, raw):
    """The value of parameter ``key`` stored as the text ``raw`` (None or
    empty: its default). Raises BadSetting."""
    kind, default = PARAMETERS[key]
    if raw is None or raw is False or (isinstance(raw, str) and not raw.strip()):
        return default
    text = str(raw).strip()
    if kind == FLAG:
        if text not in ("True", "False"):
            raise BadSetting(key, raw, kind)
        return text == "True"
    try:
        number = float(text)
    except ValueError:
        raise BadSetting(key, raw, kind) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise BadSetting(key, raw, kind)
    if kind == NUMBER:
        return number
    if not number.is_integer() or (kind == RECORD_ID and number < 1):
        raise BadSetting(key, raw, kind)
    return int(number)


def _bad_setting_message(env, error):
    kinds = {
        INTEGER: env._("a whole number"),
        NUMBER: env._("a number"),
        FLAG: env._("True or False"),
        RECORD_ID: env._("a record id"),
    }
    return env._(
        "The system parameter %(key)s is %(raw)s, not %(kind)s.",
        key=error.key,
        raw=repr(error.raw),
        kind=kinds[error.kind],
    )


def _settings_error(env, errors):
    return ValidationError(
        env._(
            "Invalid segmentation settings: %(problems)s Save the settings "
            "again, or fix it in Settings › Technical › System Parameters.",
            problems=" ".join(_bad_setting_message(env, error) for error in errors),
        )
    )


def read_setting(env, key):
    """Parameter ``key`` as its kind; a ValidationError naming it otherwise."""
    # sudo: system parameters are readable by administrators only; the
    # segmentation's own settings are read on behalf of every user.
    raw = env["ir.config_parameter"].sudo().get_param(key)
    try:
        return parse_setting(key, raw)
    except BadSetting as error:
        raise _settings_error(env, [error]) from None


def check_settings(env):
    """Every parameter of PARAMETERS as {key: value}; one ValidationError
    naming all the bad ones."""
    # sudo: as in read_setting.
    params = env["ir.config_parameter"].sudo()
    values, errors = {}, []
    for key in PARAMETERS:
        try:
            values[key] = parse_setting(key, params.get_param(key))
        except BadSetting as error:
            errors.append(error)
    if errors:
        raise _settings_error(env, errors)
    return values
