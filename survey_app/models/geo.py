"""Geography of the household frame: 区 → 街道 → 社区 → 楼栋 → 户."""

from sqlalchemy import Index, UniqueConstraint, true
from sqlmodel import Field, SQLModel


class District(SQLModel, table=True):
    """区 (county-level district)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    # Deactivated units keep their history but drop out of new waves and imports' scope.
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Street(SQLModel, table=True):
    """街道 (sub-district office). Streets are the strata of the survey design."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    district_id: int = Field(foreign_key="district.id", index=True)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Community(SQLModel, table=True):
    """社区 (residents' community): the domain every rate is reported for."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    street_id: int = Field(foreign_key="street.id", index=True)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Building(SQLModel, table=True):
    """楼栋 (building) or 网格 (grid cell): the primary sampling unit (PSU)."""

    __table_args__ = (UniqueConstraint("community_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    code: str = Field(max_length=64)
    grid: str | None = Field(default=None, max_length=64)


class Household(SQLModel, table=True):
    """户: one dwelling of the frame. No names or phone numbers are stored."""

    __table_args__ = (
        UniqueConstraint("community_id", "code"),
        # Today's active households per community counted from the index alone.
        Index("ix_household_community_active", "community_id", "active"),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    building_id: int = Field(foreign_key="building.id", index=True)
    code: str = Field(max_length=64)
    grid: str | None = Field(default=None, max_length=64)
    active: bool = True
