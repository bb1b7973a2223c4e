"""geo_response.roads."""
