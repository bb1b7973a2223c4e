"""geo_response.workflows."""
