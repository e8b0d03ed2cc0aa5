# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The context markers that change what ``write``/``unlink`` allow: all of them,
each said here. Their values are ServerMarker objects, which no RPC call can
forge (JSON has no such object), so a client passing the same context key gets
no bypass."""


class ServerMarker:
    """A context value only server code can create."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<custseg {self.name}>"


# res.partner: Odoo's own copy of commercial fields to contacts (no user edit).
SYNC_CONTEXT = ServerMarker("sync")
# res.partner: the partner merge wizard's write on the surviving partner.
MERGE_CONTEXT = ServerMarker("merge")
# custseg.segment: segments written one by one while the grid moves to another
# number of bins, checked once all are written (_apply_score_bins).
REGRID_CONTEXT = ServerMarker("regrid")
# mail.activity: a run replacing or withdrawing a follow-up: deleted, not done.
REPLACE_CONTEXT = ServerMarker("replace")
