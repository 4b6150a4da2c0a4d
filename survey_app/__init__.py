"""survey_app package."""
