"""Build configuration beyond pyproject.toml: the SLA engine's C kernel.

``supportdesk.sla._kernel`` is the single-ticket hot path of ``BusinessClock.due`` (see
src/supportdesk/sla/_kernel.c). It needs a C compiler and Python's headers when installing from
source; ``scripts/setup.sh`` installs them on Debian if they are missing. The engine gives the same
answers without it, in pure Python, only slower (``supportdesk.sla.clock.KERNEL`` says which one
is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "supportdesk.sla._kernel",
            sources=["src/supportdesk/sla/_kernel.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
        )
    ]
)
