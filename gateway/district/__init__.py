"""The district tier: districts as named sets of schools, and what a district user may read."""
