# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Access rights, multi-company record rules and server-side checks (issue #8
item 6), plus two source scans: SQL is never built with string formatting, and
every sudo() says why."""

import ast
import io
import tokenize
from datetime import timedelta
from pathlib import Path

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError
from odoo.service.model import get_public_method
from odoo.tests import BaseCase, new_test_user, tagged

from .common import AS_OF, CustsegGridCommon, execute_kw

MODULE_DIR = Path(__file__).resolve().parents[1]

# model -> operations of (segmentation users incl. salespeople, managers):
# r read, w write, c create, d delete. Runs, their lines and the history are
# written by the run only; managers may delete old runs (with their lines) and
# transitions.
ACCESS_MATRIX = {
    "custseg.segment": ("r", "rwcd"),
    "custseg.run": ("r", "rd"),
    "custseg.run.line": ("r", "r"),
    "custseg.partner.history": ("r", "rd"),
    # The grid editor: managers only (it rewrites the segments).
    "custseg.grid.editor": ("", "rwcd"),
    "custseg.grid.editor.line": ("", "rwcd"),
    "custseg.run.whale.point": ("r", "rd"),
    # The run's calibration table: written by the run only.
    "custseg.run.calibration.bin": ("r", "rd"),
    # Write only at the ACL level, so that the P&L menu's server action may run
    # for users; the rule custseg_segment_pnl_rule_read_only refuses every row.
    "custseg.segment.pnl": ("rw", "rwd"),
    # The Done dialog of segment follow-ups (a transient wizard).
    "custseg.followup.done": ("rwc", "rwc"),
    # Control-group entries: written by the runs only.
    "custseg.followup.entry": ("r", "rd"),
    # The lift report is the managers'.
    "custseg.lift.report": ("", "r"),
    # Next-best products and segment profiles: written by the runs only.
    "custseg.recommendation": ("r", "r"),
    "custseg.segment.profile": ("r", "r"),
    # Written by a background run only, through SQL.
    "custseg.run.progress": ("r", "r"),
    # Likelihood and CLV of each customer: read with the partner, written by runs.
    "custseg.partner.figure": ("r", "r"),
}
OPERATIONS = {"r": "read", "w": "write", "c": "create", "d": "unlink"}


@tagged("post_install", "-at_install")
class TestAccessRights(CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outsider = new_test_user(
            cls.env,
            login="custseg_outsider",
            groups="base.group_user,base.group_partner_manager",
            name="Accountant Without Segmentation",
        )
        cls.sales_editor = new_test_user(
            cls.env,
            login="custseg_sales_editor",
            groups="base.group_user,base.group_partner_manager,"
            "sales_team.group_sale_salesman",
            name="Salesperson Who Edits Contacts",
        )
        # The baseline logs no transitions; the run after it does.
        cls.env["custseg.run"].run_segmentation(AS_OF - timedelta(days=120))
        cls.first_run = cls.env["custseg.run"].run_segmentation(AS_OF)
        cls.env.invalidate_all()

    def _module_models(self):
        """The models this module defines (not the ones it extends)."""
        return [
            name
            for name, model in self.env.registry.items()
            if model._original_module == "custseg_module" and not model._abstract
        ]

    def test_every_model_has_decided_access_rights(self):
        models = self._module_models()
        self.assertTrue(models)
        for model in models:
            with self.subTest(model=model):
                self.assertIn(
                    model,
                    ACCESS_MATRIX,
                    "a new model needs its access rights decided here",
                )
        for model, (user_ops, manager_ops) in ACCESS_MATRIX.items():
            for user, allowed in (
                (self.salesman, user_ops),
                (self.manager, manager_ops),
                (self.outsider, ""),
            ):
                for letter, operation in OPERATIONS.items():
                    with self.subTest(model=model, user=user.login, op=operation):
                        self.assertEqual(
                            self.env[model].with_user(user).has_access(operation),
                            letter in allowed,
                        )

    def test_salespeople_read_but_change_nothing(self):
        env = self.env(user=self.salesman)
        segment = env["custseg.segment"].browse(self.segments["lost"].id)
        run = env["custseg.run"].browse(self.first_run.id)
        line = run.line_ids[:1]
        history = env["custseg.partner.history"].search([("run_id", "=", run.id)])
        self.assertTrue(segment.name and run.state and line.customer_count)
        self.assertTrue(history)
        self.assertEqual(
            history,
            self.env["custseg.partner.history"].search([("run_id", "=", run.id)]),
        )
        partner = env["res.partner"].browse(self.grid_customers[5, 5].id)
        self.assertEqual(partner.customer_segment_id.code, "champions")
        self.assertTrue(partner.rfm_code)
        attempts = {
            "create a segment": lambda: env["custseg.segment"].create(
                {"name": "Mine", "code": "mine"}
            ),
            "rename a segment": lambda: segment.write({"name": "Gone"}),
            "delete a segment": segment.unlink,
            "create a run": lambda: env["custseg.run"].create({"as_of": AS_OF}),
            "delete a run": run.unlink,
            "edit a run line": lambda: line.write({"customer_count": 0}),
            "delete a transition": history.unlink,
            "start a run": lambda: env["custseg.run"].run_segmentation(AS_OF),
            "press Recompute now": env["custseg.run"].action_recompute_now,
            "lock a segment": partner.action_lock_segment,
        }
        for what, attempt in attempts.items():
            with self.subTest(what), self.assertRaises(AccessError):
                attempt()

    def test_managers_cannot_edit_what_runs_record(self):
        env = self.env(user=self.manager)
        run = env["custseg.run"].browse(self.first_run.id)
        with self.assertRaises(AccessError):
            run.write({"state": "failed"})
        with self.assertRaises(AccessError):
            env["custseg.partner.history"].create(
                {
                    "partner_id": self.grid_customers[1, 1].id,
                    "run_id": run.id,
                    "company_id": self.company.id,
                    "date": AS_OF,
                }
            )
        # Cleaning up old runs is allowed.
        history = env["custseg.partner.history"].search([("run_id", "=", run.id)])
        history.unlink()
        self.assertFalse(history.exists())

    def test_segmentation_fields_are_guarded_on_the_server(self):
        """A salesperson allowed to edit contacts still cannot write what a run
        computes nor set a segment, whatever context the client sends."""
        env = self.env(user=self.sales_editor)
        partner = env["res.partner"].browse(self.grid_customers[5, 5].id)
        partner.write({"phone": "+32 2 555 01 01"})  # an ordinary edit works
        forged_contexts = [
            {},
            {"custseg_sync": True},
            {"custseg_sync": 1, "custseg_merge": True},
        ]
        for context in forged_contexts:
            forged = partner.with_context(**context)
            with self.subTest(context=context):
                with self.assertRaises(AccessError):
                    forged.write({"rfm_monetary": 1e9})
                with self.assertRaises(AccessError):
                    forged.write({"customer_segment_id": self.segments["lost"].id})
                with self.assertRaises(AccessError):
                    forged.env["res.partner"].create(
                        {"name": "Forged", "value_tier": "key"}
                    )
        self.env.invalidate_all()
        self.assertEqual(
            self.grid_customers[5, 5].customer_segment_id.code, "champions"
        )

    def test_rpc_calls_are_checked_on_the_server(self):
        """Through the RPC entry point a client uses: a hidden button is no
        protection, the server refuses."""
        self.env.flush_all()
        db = self.env.cr.dbname
        for method, args in (
            ("run_segmentation", []),
            ("action_recompute_now", [[]]),
        ):
            with self.subTest(method=method), self.assertRaises(AccessError):
                execute_kw(db, self.salesman.id, "custseg.run", method, args, {})
        # Internal methods cannot be called remotely at all, even by managers.
        runs = self.env["custseg.run"].with_user(self.manager)
        for method in (
            "_cron_run_segmentation",
            "_execute",
            "_record_failure",
            "_phase_write_back",
            "_try_lock",
        ):
            with self.subTest(method=method), self.assertRaises(AccessError):
                get_public_method(runs, method)

    def test_settings_are_for_administrators_only(self):
        params = self.env["ir.config_parameter"]
        churn = params.get_param("custseg.churn_days")
        for user in (self.salesman, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["res.config.settings"].with_user(user).create(
                    {"custseg_churn_days": 999}
                ).execute()
        # Even on a settings record they did not create themselves.
        settings = self.env["res.config.settings"].create({"custseg_churn_days": 999})
        for method in ("execute", "set_values"):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(settings.with_user(self.salesman), method)()
        self.assertEqual(params.get_param("custseg.churn_days"), churn)

    def test_users_without_segmentation_rights_still_open_customers(self):
        """Users outside segmentation (an accountant) do not get the segment
        fields in their partner form, so opening a customer does not fail on
        the segment model they may not read."""
        Partner = self.env["res.partner"].with_user(self.outsider)
        arch = etree.fromstring(
            Partner.get_views([(False, "form")])["views"]["form"]["arch"]
        )
        names = {node.get("name") for node in arch.iter("field")}
        self.assertFalse(names & {"customer_segment_id", "segment_history_ids"})
        described = Partner.fields_get(names)
        spec = {
            name: {"fields": {"display_name": {}}}
            if described[name]["type"] == "many2one"
            else {}
            for name in described
        }
        Partner.browse(self.grid_customers[5, 5].id).web_read(spec)


@tagged("post_install", "-at_install")
class TestMultiCompany(CustsegGridCommon):
    """Runs, their lines and transitions belong to the company that ran them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create(
            {"name": "Segmentation Company B", "currency_id": cls.currency.id}
        )
        Runs = cls.env["custseg.run"]
        # The baseline logs no transitions; both runs after it do.
        Runs.run_segmentation(AS_OF - timedelta(days=120))
        cls.run_b = Runs.with_company(cls.company_b).run_segmentation(
            AS_OF - timedelta(days=60)
        )
        cls.run_a = Runs.run_segmentation(AS_OF)
        cls.env.invalidate_all()
        cls.user_b = new_test_user(
            cls.env,
            login="custseg_user_b",
            groups="base.group_user,sales_team.group_sale_salesman",
            company_id=cls.company_b.id,
            company_ids=[Command.set(cls.company_b.ids)],
        )
        cls.manager_ab = new_test_user(
            cls.env,
            login="custseg_manager_ab",
            groups="base.group_user,custseg_module.group_custseg_manager",
            company_id=cls.company.id,
            company_ids=[Command.set((cls.company | cls.company_b).ids)],
        )

    def _visible(self, user, model, domain=()):
        return self.env[model].with_user(user).search(list(domain))

    def test_records_of_another_company_are_invisible(self):
        runs = self.run_a | self.run_b
        self.assertEqual(self.run_a.company_id, self.company)
        self.assertEqual(self.run_b.company_id, self.company_b)
        for model, field in (
            ("custseg.run", "id"),
            ("custseg.run.line", "run_id"),
            ("custseg.partner.history", "run_id"),
        ):
            records = self.env[model].search([(field, "in", runs.ids)])
            by_company = {
                company: records.filtered(lambda r, c=company: r.company_id == c)
                for company in (self.company, self.company_b)
            }
            with self.subTest(model=model):
                self.assertTrue(by_company[self.company])
                self.assertTrue(by_company[self.company_b])
                domain = [(field, "in", runs.ids)]
                self.assertEqual(
                    self._visible(self.salesman, model, domain),
                    by_company[self.company],
                )
                self.assertEqual(
                    self._visible(self.user_b, model, domain),
                    by_company[self.company_b],
                )
                self.assertEqual(self._visible(self.manager_ab, model, domain), records)
                with self.assertRaises(AccessError):
                    by_company[self.company_b][:1].with_user(self.salesman).read(
                        ["company_id"]
                    )

    def test_run_belongs_to_the_company_it_ran_in(self):
        run = (
            self.env["custseg.run"]
            .with_user(self.manager_ab)
            .with_company(self.company_b)
            .run_segmentation(AS_OF)
        )
        self.assertEqual(run.company_id, self.company_b)
        self.assertFalse(
            self._visible(self.salesman, "custseg.run", [("id", "=", run.id)])
        )


# ---------------------------------------------------------------- source scans
SQL_CALLS = {"execute", "_execute", "mogrify", "copy_expert", "execute_values", "SQL"}


def _called_name(call):
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _is_formatted(node, assignments, seen=()):
    """Whether an expression builds a string with an f-string, % or format()."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod) and not (
            isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, (int, float))
        ):
            return True
        if isinstance(node.op, ast.Add):
            return _is_formatted(node.left, assignments, seen) or _is_formatted(
                node.right, assignments, seen
            )
    if isinstance(node, ast.Call) and _called_name(node) == "format":
        return isinstance(node.func, ast.Attribute)
    if isinstance(node, ast.Name) and node.id not in seen:
        return any(
            _is_formatted(value, assignments, (*seen, node.id))
            for value in assignments.get(node.id, ())
        )
    return False


def _scopes(tree):
    """The module's own statements, then each function: local variables are
    looked up in their scope only."""
    yield [
        node
        for node in tree.body
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield [node]


def _walk(nodes):
    for node in nodes:
        yield from ast.walk(node)


def formatted_sql(source, filename="<source>"):
    """file:line of every SQL call whose query is built with string formatting,
    directly or through a local variable."""
    tree = ast.parse(source, filename)
    problems = set()
    for scope in _scopes(tree):
        assignments = {}
        for node in _walk(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assignments.setdefault(target.id, []).append(node.value)
            elif (
                isinstance(node, (ast.AugAssign, ast.AnnAssign))
                and isinstance(node.target, ast.Name)
                and node.value is not None
            ):
                value = node.value
                if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Mod):
                    value = ast.BinOp(ast.Constant(""), ast.Mod(), value)
                assignments.setdefault(node.target.id, []).append(value)
        for node in _walk(scope):
            if (
                isinstance(node, ast.Call)
                and _called_name(node) in SQL_CALLS
                and node.args
                and _is_formatted(node.args[0], assignments)
            ):
                problems.add(f"{filename}:{node.lineno}")
    return sorted(problems)


def unexplained_sudo(source, filename="<source>"):
    """file:line of every sudo() call without a comment on its statement or on
    the comment lines right above it."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    commented = {
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and len(token.string.strip("# ")) > 3
    }
    # Simple statements only: an if, for or with is not "the statement".
    statements = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and not hasattr(node, "body")
    ]
    problems = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sudo"
        ):
            continue
        # The innermost simple statement holding the call.
        holder = min(
            (
                s
                for s in statements
                if s.lineno <= node.lineno and node.end_lineno <= s.end_lineno
            ),
            key=lambda s: s.end_lineno - s.lineno,
            default=None,
        )
        first = holder.lineno if holder else node.lineno
        explained = any(n in commented for n in range(first, node.end_lineno + 1))
        above = first - 1
        while not explained and above >= 1 and lines[above - 1].strip().startswith("#"):
            explained = above in commented
            above -= 1
        if not explained:
            problems.append(f"{filename}:{node.lineno}")
    return problems


def module_sources(include_tests=True):
    for path in sorted(MODULE_DIR.rglob("*.py")):
        relative = path.relative_to(MODULE_DIR.parent)
        if not include_tests and "tests" in relative.parts:
            continue
        yield str(relative), path.read_text(encoding="utf-8")


@tagged("post_install", "-at_install")
class TestSourceScans(BaseCase):
    def test_scanners_find_what_they_look_for(self):
        bad_sql = (
            "def f(cr, ids, table):\n"
            # Split so that grepping this file for formatted SQL finds nothing:
            # the scanner under test must see the joined line.
            "    cr.execute"
            "(f'SELECT * FROM {table}')\n"
            "    cr.execute"
            "('SELECT * FROM x WHERE id IN %s' % (ids,))\n"
            "    cr.execute('SELECT * FROM {}'.format(table))\n"
            "    query = 'SELECT * FROM ' + table + ' WHERE id = %s' % ids[0]\n"
            "    cr.execute(query)\n"
            "    cr.copy_expert(f'COPY {table} TO STDOUT', None)\n"
            "    SQL(f'SELECT {table}')\n"
            "    self.env.cr.mogrify('SELECT %s' % table)\n"
        )
        self.assertEqual(len(formatted_sql(bad_sql)), 7)
        good_sql = (
            "def f(cr, ids, table):\n"
            "    cr.execute('SELECT * FROM x WHERE id IN %s', [tuple(ids)])\n"
            "    cr.execute(SQL('SELECT * FROM %s', SQL.identifier(table)))\n"
            "    query = 'SELECT 1'\n"
            "    cr.execute(query)\n"
            "    cr.execute(b'COPY (' + cr.mogrify('SELECT %s', [1]) + b') TO STDOUT')"
            "\n"
            "    label = f'{table} rows'\n"
        )
        self.assertEqual(formatted_sql(good_sql), [])
        sudo = (
            "def f(self):\n"
            "    # sudo: the reason\n"
            "    a = self.sudo()\n"
            "    b = self.sudo()\n"
            "    c = (\n"
            "        self.env['x']\n"
            "        .sudo()  # sudo: config is admin-only\n"
            "        .get()\n"
            "    )\n"
            "    #\n"
            "    d = self.sudo()\n"
            "    if a:\n"
            "        e = self.sudo().read()\n"
        )
        self.assertEqual(
            unexplained_sudo(sudo), ["<source>:4", "<source>:11", "<source>:13"]
        )

    def test_sql_is_never_built_with_string_formatting(self):
        problems = [
            problem
            for filename, source in module_sources()
            for problem in formatted_sql(source, filename)
        ]
        self.assertEqual(
            problems,
            [],
            "SQL built with an f-string, % or format(): use query parameters "
            "or odoo.tools.SQL",
        )

    def test_every_sudo_says_why(self):
        problems = [
            problem
            for filename, source in module_sources(include_tests=False)
            for problem in unexplained_sudo(source, filename)
        ]
        self.assertEqual(problems, [], "sudo() without a comment saying why")
