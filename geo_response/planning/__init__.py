"""geo_response.planning."""
