"""Forms of the admin's setup pages (CSRF-protected; the services check the content)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional


class UploadForm(FlaskForm):
    file = FileField(_l("文件(XLSX 或 CSV)"), validators=[FileRequired()])


class HouseholdImportForm(UploadForm):
    dry_run = BooleanField(_l("先预览,确认后再导入"))


class QuestionnaireUploadForm(FlaskForm):
    file = FileField(_l("问卷文件(YAML,或 XLSForm 的 .xlsx)"), validators=[FileRequired()])
    key = StringField(_l("问卷标识(仅 XLSForm,可留空)"), validators=[Optional(), Length(max=64)])
    version = StringField(_l("版本号(仅 XLSForm,可留空)"), validators=[Optional(), Length(max=8)])


class ActionForm(FlaskForm):
    """A button that changes something (CSRF token only)."""


class RenameForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])


class AddUnitForm(FlaskForm):
    level = StringField(_l("层级"), validators=[DataRequired(), Length(max=16)])
    code = StringField(_l("编码"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=100)])
    parent_code = StringField(_l("上级编码"), validators=[Optional(), Length(max=32)])


class UserEditForm(FlaskForm):
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    role = StringField(_l("角色"), validators=[DataRequired(), Length(max=32)])
    scope = StringField(_l("范围(社区或街道编码,用逗号或顿号分隔)"), validators=[Length(max=2000)])


class HouseholdEditForm(FlaskForm):
    building = StringField(_l("楼栋"), validators=[DataRequired(), Length(max=64)])
    grid = StringField(_l("网格"), validators=[Optional(), Length(max=64)])
    active = BooleanField(_l("在册(未停用)"))
    back = HiddenField()
