"""Every action the audit log can hold: ``chain.record`` refuses any other.

One list, so that the console can name each action in the staff user's language and a test can
check that each has a label (identity/web/console/audit_words.py). A new kind of event is added
here first, then labelled there.
"""

ACTIONS = frozenset(
    {
        # The register
        "beneficiary.create",
        "beneficiary.update",
        # Sign-in of beneficiaries: the one-time code, then the session
        "otp.sent",
        "otp.send_refused",
        "otp.send_failed",
        "login.success",
        "login.failure",
        "login.locked",
        # Digital IDs
        "credential.issue",
        "credential.issue_bulk",
        "credential.revoke",
        "credential.suspend",
        "credential.reinstate",
        # Signing keys
        "key.rotate",
        "key.retire",
        # Documents and their kinds
        "document.issue",
        "document.revoke",
        "document.supersede",
        "document_type.add",
        # Agencies, staff and back-office tokens
        "agency.create",
        "agency.rotate_key",
        "agency.enable",
        "agency.disable",
        "staff.create",
        "staff.enable",
        "staff.disable",
        "staff.reset",
        "staff.password_change",
        "staff.login",
        "staff.login_failure",
        "staff.locked",
        "token.create",
    }
)
