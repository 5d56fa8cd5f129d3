"""Package list and build step: the code packages, models/ and firmware_configs/ installed as
data, and the message catalogs compiled from their .po files."""

from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

# Model files and firmware configs stay at the top of the tree, as DESIGN.md lays them out, and
# are installed inside the campusedge package so that a wheel carries them. find_packages cannot
# discover a folder mapped to another name, so the two are listed here.
DATA_PACKAGES = {"campusedge.models": "models", "campusedge.firmware_configs": "firmware_configs"}
LOCALE_DIR = Path(__file__).resolve().parent / "gateway" / "locale"


def compile_catalogs(locale_dir: Path) -> list[Path]:
    """Each <language>/LC_MESSAGES/*.po compiled to the .mo beside it, which the package ships.

    Compiled here, at build time, rather than at import time: the gateway then needs only the
    standard library's gettext to read them, and Babel is a build requirement alone. Beside the
    .po, not only in the build folder, so that an editable install finds them too.
    """
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        # A build without isolation in an environment without the build requirements.
        raise SystemExit(
            "building campusedge compiles its message catalogs with Babel, which is not "
            "installed here: pip install 'Babel>=2.14,<3' (a build requirement in pyproject.toml)"
        ) from None

    written = []
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            # Fuzzy entries are guesses of `pybabel update`: left out, they fall back to English.
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        compile_catalogs(LOCALE_DIR)
        # The list of package data was taken before the .mo files existed on a fresh checkout.
        self.__dict__.pop("data_files", None)
        super().run()


setup(
    packages=[
        # Namespace discovery also lists data-only folders (the fitness tables, the dashboard's
        # static files, the catalogs), so that their files install as package data.
        *find_namespace_packages(
            include=["campusedge*", "edge*", "gateway*", "drivers*", "simulators*"],
            exclude=["*.__pycache__", "*.__pycache__.*"],
        ),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
    cmdclass={"build_py": BuildWithCatalogs},
)
