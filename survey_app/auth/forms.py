"""The sign-in form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("新密码(至少 10 个字符)"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("再输入一次新密码"), validators=[DataRequired(), Length(max=256)])
