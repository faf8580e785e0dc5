"""Class (being built): the instructor leads, the class answers, the class's work comes together."""
import streamlit as st

st.title("Class")
st.info("This page is being built.")
