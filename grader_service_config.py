"""Example configuration: SQLite, a local data directory, development tokens.

Start the service with:  grader-service -f grader_service_config.py
Every option with its documentation:  grader-service --generate-config -f full_config.py
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)

c.GraderService.service_host = "127.0.0.1"
c.GraderService.service_port = int(os.environ.get("GRADER_PORT", "4010"))
c.GraderService.base_url_path = "/services/grader/"
c.GraderService.grader_service_dir = os.environ.get(
    "GRADER_SERVICE_DIRECTORY", str(Path(__file__).parent / ".grader_service_data")
)

# Development only: fixed tokens. In a JupyterHub deployment, leave this out: with
# JUPYTERHUB_API_URL set the service checks JupyterHub tokens and maps hub groups
# "<lecture code>:<role>" to lecture roles.
if not os.environ.get("JUPYTERHUB_API_URL"):
    c.GraderService.authenticator_class = "grader_service.auth.StaticTokenAuthenticator"
    c.StaticTokenAuthenticator.tokens = {
        "demo-instructor-token": "instructor",
        "demo-student-token": "student",
        "demo-admin-token": "admin",
    }
c.Authenticator.admin_users = {"admin"}

c.GraderService.load_roles = {
    "demo": [
        {"role": "instructor", "members": ["instructor"]},
        {"role": "student", "members": ["student"]},
    ]
}

# Grading: on this host, student code in a bubblewrap sandbox (apt-get install bubblewrap).
# Without bubblewrap jobs stay queued and the log says why; c.Sandbox.mode = "none"
# grades unsandboxed (never with real students).
c.GraderService.autograde_executor_class = "local"
c.GradingScheduler.max_concurrent_jobs = 2  # about one per core
c.Sandbox.memory_limit = 1024**3  # bytes per grading job
c.CellTimeoutPolicy.default_cell_timeout = 60  # seconds, when the assignment sets none
