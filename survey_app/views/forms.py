"""WTForms forms of the app shell (questionnaire forms come from the instruments)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=256)])


class HouseholdImportForm(FlaskForm):
    file = FileField(_l("户台账 CSV 文件"), validators=[FileRequired()])
