"""ccel explorer (placeholder until the full multi-page app lands): collision vs Shannon CE for K = 2."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from ccel_core.losses import collision_cross_entropy, shannon_cross_entropy

st.set_page_config(page_title="ccel explorer", layout="wide")
st.title("Collision cross-entropy")
st.markdown(r"$H_2(y,\sigma) = -\ln \sum_k y_k \sigma_k$ against Shannon's $H(y,\sigma) = -\sum_k y_k \ln \sigma_k$, K = 2.")
p = np.linspace(0.001, 0.999, 400)
logits = torch.from_numpy(np.stack([np.log(p), np.log1p(-p)], 1))
fig = go.Figure()
for y0 in (1.0, 0.9, 0.7, 0.5):
    y = torch.tensor([[y0, 1 - y0]], dtype=torch.float64).expand(len(p), 2)
    fig.add_scatter(x=p, y=shannon_cross_entropy(logits, y, "none").numpy(), name=f"H, y=({y0:g},{1 - y0:g})", line=dict(dash="dash"))
    fig.add_scatter(x=p, y=collision_cross_entropy(logits, y, "none").numpy(), name=f"H₂, y=({y0:g},{1 - y0:g})")
fig.update_layout(xaxis_title="σ = (p, 1 − p): p", yaxis_title="loss", yaxis_range=[0, 4])
st.plotly_chart(fig)
