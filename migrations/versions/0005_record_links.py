"""record links: which record holds which file; content-addressed file storage

``record_files`` links files to the records that hold them, in an attachments field or in a
comment; existing comment attachments are copied into it. ``files.key`` stops being unique:
files with the same content now share one blob, named by its SHA-256. Downgrading needs every
file to have a blob of its own again, so it refuses while two files share one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "record_files",
        sa.Column("id", _ID, nullable=False),
        sa.Column("form_id", _ID, nullable=False),
        sa.Column("record_id", _ID, nullable=False),
        sa.Column("field_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", _ID, nullable=True),
        sa.Column("file_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["record_comments.id"],
            name=op.f("fk_record_files_comment_id_record_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_record_files_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["forms.id"],
            name=op.f("fk_record_files_form_id_forms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_files")),
    )
    with op.batch_alter_table("record_files", schema=None) as batch_op:
        batch_op.create_index("ix_record_files_file", ["file_id", "form_id"], unique=False)
        batch_op.create_index(
            "ix_record_files_record", ["form_id", "record_id", "field_id"], unique=False
        )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_files_key"), type_="unique")
        batch_op.create_index(batch_op.f("ix_files_key"), ["key"], unique=False)
    _copy_comment_attachments()


def _copy_comment_attachments() -> None:
    """Existing comments' attachments (a JSON list of file ids) become ``record_files`` rows."""
    connection = op.get_bind()
    comments = sa.table(
        "record_comments",
        sa.column("id", _ID),
        sa.column("form_id", _ID),
        sa.column("record_id", _ID),
        sa.column("attachments", sa.JSON()),
    )
    files = sa.table("files", sa.column("id", _ID))
    links = sa.table(
        "record_files",
        sa.column("form_id", _ID),
        sa.column("record_id", _ID),
        sa.column("comment_id", _ID),
        sa.column("file_id", _ID),
    )
    known = set(connection.execute(sa.select(files.c.id)).scalars())
    rows = [
        {"form_id": form_id, "record_id": record_id, "comment_id": comment_id, "file_id": file_id}
        for comment_id, form_id, record_id, attachments in connection.execute(
            sa.select(
                comments.c.id, comments.c.form_id, comments.c.record_id, comments.c.attachments
            )
        )
        for file_id in dict.fromkeys(attachments or [])
        if file_id in known
    ]
    if rows:
        connection.execute(links.insert(), rows)


def downgrade() -> None:
    connection = op.get_bind()
    files = sa.table("files", sa.column("key", sa.String()))
    shared = connection.execute(
        sa.select(files.c.key).group_by(files.c.key).having(sa.func.count() > 1).limit(1)
    ).first()
    if shared is not None:
        raise RuntimeError(
            "cannot downgrade below 0005: several files share the blob "
            f"{shared[0]} (content-addressed storage); keep revision 0005"
        )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_key"))
        batch_op.create_unique_constraint(batch_op.f("uq_files_key"), ["key"])
    with op.batch_alter_table("record_files", schema=None) as batch_op:
        batch_op.drop_index("ix_record_files_record")
        batch_op.drop_index("ix_record_files_file")
    op.drop_table("record_files")
