"""Package list: the code packages, plus models/ and firmware_configs/ installed as data."""

from setuptools import find_packages, setup

# Model files and firmware configs stay at the top of the tree, as DESIGN.md lays them out, and
# are installed inside the campusedge package so that a wheel carries them. find_packages cannot
# discover a folder mapped to another name, so the two are listed here.
DATA_PACKAGES = {"campusedge.models": "models", "campusedge.firmware_configs": "firmware_configs"}

setup(
    packages=[
        *find_packages(include=["campusedge*", "edge*", "gateway*", "drivers*", "simulators*"]),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
)
