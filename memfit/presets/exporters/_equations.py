"""The compact models' equations as expression text, shared by the SPICE and Verilog-A exporters.

Each entry is the same physics as the model's jitted kernels (``memfit/models/_kernels``),
written once with three placeholders that each target language fills in:

``{V}``  the voltage across the (core) device [V]
``{X}``  the state variable
``{I}``  the (core) current [A] (in rate expressions only)

and the parameter names prefixed with ``P_`` (SPICE is case-insensitive and
has reserved names; the prefix keeps ``Ap``/``alphap`` and ``b`` safe).
Only functions both ngspice B-sources and Verilog-A know are used: ``exp``,
``ln``, ``sqrt``, ``abs``, ``sinh``, ``min``, ``max`` and the ternary
operator.  Powers are written ``exp(a*ln(u))`` with ``u`` floored at 1e-300
(ngspice evaluates both branches of a ternary).

A model with ``series``/``parallel`` entries has resistors around its core
(NbOx: R_s in series with core || R_p); the port expression then gives the
core current at the core voltage and the target circuit solves the divider.
"""

from __future__ import annotations

_XC = "min(max({X}, 0), 1)"


def _pow(base: str, expo: str) -> str:
    return f"exp(({expo})*ln(max({base}, 1e-300)))"


_HP_PORT = "{V}/(P_R_on*" + _XC + " + P_R_off*(1 - " + _XC + "))"
_HP_K = "(P_mu_v*P_R_on/(P_D*P_D))"

_VTEAM_G = ("(({V}) > P_v_off ? P_k_off*" + _pow("{V}/P_v_off - 1", "P_alpha_off")
            + " : (({V}) < P_v_on ? P_k_on*" + _pow("{V}/P_v_on - 1", "P_alpha_on") + " : 0))")

_YAK_G = "(({V}) > P_Vp ? P_Ap*(exp({V}) - exp(P_Vp)) : (({V}) < -P_Vn ? -P_An*(exp(-({V})) - exp(P_Vn)) : 0))"
_YAK_F = ("(P_eta*({V}) >= 0 ? (({X}) >= P_xp ? exp(-P_alphap*(({X}) - P_xp))*max((P_xp - ({X}))/(1 - P_xp) + 1, 0)"
          " : 1) : (({X}) <= 1 - P_xn ? exp(P_alphan*(({X}) + P_xn - 1))*max(({X})/(1 - P_xn), 0) : 1))")

_NB_XG = "max({X}, 1e-6)"
_NB_SG = "(({V}) > 0 ? 1 : (({V}) < 0 ? -1 : 0))"
_NB_PORT = ("({V})*(P_A_r*" + _NB_XG + "*exp(P_B_r*" + _NB_SG + "*sqrt(abs({V})/" + _NB_XG + ")) + P_A_s*" + _NB_XG
            + "*exp(-P_B_s*" + _NB_SG + "*sqrt(abs({V}))))")
_NB_RATE = ("P_c1*(exp(P_c2*" + _NB_XG + "*({I}) - exp((({X}) - P_x_off)*P_w_c)) - exp(-P_c3*" + _NB_XG
            + "*({I}) - exp(-(({X}) - P_x_on)*P_w_c)))")

#: model name -> equations.  ``lo``/``hi``: state bounds (numbers or parameter names).
EQUATIONS: dict[str, dict] = {
    "strukov2008": {"port": _HP_PORT, "rate": _HP_K + "*({I})", "lo": 0.0, "hi": 1.0},
    "joglekar2009": {"port": _HP_PORT, "rate": _HP_K + "*({I})*max(1 - " + _pow("abs(2*({X}) - 1)", "2*P_p") + ", 0)",
                     "lo": 0.0, "hi": 1.0},
    "biolek2009": {"port": _HP_PORT,
                   "rate": _HP_K + "*({I})*max(1 - " + _pow("abs(({X}) - (({V}) <= 0 ? 1 : 0))", "2*P_p") + ", 0)",
                   "lo": 0.0, "hi": 1.0},
    "prodromakis2011": {"port": _HP_PORT,
                        "rate": _HP_K + "*({I})*max(P_j*(1 - " + _pow("(({X}) - 0.5)*(({X}) - 0.5) + 0.75", "P_p")
                        + "), 0)", "lo": 0.0, "hi": 1.0},
    "vteam": {"port": "{V}/(P_R_on + (P_R_off - P_R_on)*" + _XC + ")", "rate": _VTEAM_G, "lo": 0.0, "hi": 1.0},
    "vteam_exp": {"port": "{V}/(P_R_on*exp(ln(P_R_off/P_R_on)*" + _XC + "))", "rate": _VTEAM_G, "lo": 0.0, "hi": 1.0},
    "yakopcic2011": {"port": "(({V}) >= 0 ? P_a1 : P_a2)*" + _XC + "*sinh(P_b*({V}))",
                     "rate": "P_eta*" + _YAK_G + "*" + _YAK_F, "lo": 0.0, "hi": 1.0},
    "schroedter2022": {"port": _NB_PORT, "rate": _NB_RATE, "lo": 0.01, "hi": 1.0, "series": "R_s", "parallel": "R_p"},
}


def supported_models() -> list[str]:
    """Models the SPICE and Verilog-A exporters can write."""
    return sorted(EQUATIONS)


def equations(model_name: str) -> dict:
    """The equation set of a model, or :class:`PresetError` naming the supported models."""
    from memfit.errors import PresetError

    try:
        return EQUATIONS[model_name]
    except KeyError:
        raise PresetError(f"model {model_name!r} has no SPICE/Verilog-A equations; supported models: "
                          f"{', '.join(supported_models())}") from None
