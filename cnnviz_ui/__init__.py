"""Streamlit helpers shared by the pages (kept outside pages/, which Streamlit treats as page scripts)."""
