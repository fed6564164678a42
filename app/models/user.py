"""People who sign in, and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .department import Department
from .types import LabelledEnum, enum_type


class Role(LabelledEnum):
    HANDLER = ("handler", "部门经办人")
    LEAD = ("lead", "部门负责人")
    VERIFIER = ("verifier", "审核员")
    SUPERVISOR = ("supervisor", "效能监督员")
    DESIGNER = ("designer", "流程设计员")
    AUDITOR = ("auditor", "审计员")
    ADMIN = ("admin", "系统管理员")


# Roles that work one department's cases, so their holder must belong to a department.
DEPARTMENT_ROLES = frozenset({Role.HANDLER, Role.LEAD})


class User(Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_login_at: Mapped[datetime | None]
    # Login throttling: consecutive failures, and the lock they earned.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    department: Mapped[Department | None] = relationship()
    role_grants: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(grant.role for grant in self.role_grants)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(server_default=func.now())

    user: Mapped[User] = relationship(back_populates="role_grants")
