"""AI PE station: pose estimation on camera frames and repetition counting per exercise."""
