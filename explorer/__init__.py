"""The ccel explorer (Streamlit app): ``streamlit run explorer/app.py``."""
