"""Forms of the admin's setup pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class HouseholdImportForm(FlaskForm):
    file = FileField(_l("户台账 CSV 文件"), validators=[FileRequired()])
