"""Package list: the code packages, plus models/ and firmware_configs/ installed as data."""

from setuptools import find_namespace_packages, setup

# Model files and firmware configs stay at the top of the tree, as DESIGN.md lays them out, and
# are installed inside the campusedge package so that a wheel carries them. find_packages cannot
# discover a folder mapped to another name, so the two are listed here.
DATA_PACKAGES = {"campusedge.models": "models", "campusedge.firmware_configs": "firmware_configs"}

setup(
    packages=[
        # Namespace discovery also lists data-only folders (the fitness tables, the dashboard's
        # static files), so that their files install as package data.
        *find_namespace_packages(
            include=["campusedge*", "edge*", "gateway*", "drivers*", "simulators*"],
            exclude=["*.__pycache__", "*.__pycache__.*"],
        ),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
)
