"""geo_response.incidents."""
