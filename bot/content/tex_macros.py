"""The TeX macros and environments a formula in the bank may use.

Telegram does not promise which macros a client's math renderer knows, so a
formula keeps to what both KaTeX and MathJax render out of the box: the
common subset below. It is an explicit list (not "whatever latex2mathml
accepts", which passes any unknown ``\\foo`` through as text) so that adding
a macro is a deliberate, reviewed change. Checked against the KaTeX
"Supported Functions" page and MathJax's default TeX packages (base, ams).
"""

from __future__ import annotations

__all__ = ["ALLOWED_CONTROL_SYMBOLS", "ALLOWED_ENVIRONMENTS", "ALLOWED_MACROS"]

_GREEK = """
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda mu
nu xi omicron pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega
Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
varGamma varDelta varTheta varLambda varXi varPi varSigma varUpsilon varPhi varPsi varOmega
digamma
"""

_LETTERS_AND_SYMBOLS = """
aleph beth gimel ell hbar hslash imath jmath wp Re Im partial nabla infty emptyset varnothing
forall exists nexists neg lnot top bot angle measuredangle triangle backslash prime
surd Box diamond clubsuit diamondsuit heartsuit spadesuit flat natural sharp checkmark
dagger ddagger S P copyright dots ldots cdots vdots ddots cdot circ bullet star ast
colon mathellipsis degree
"""

_OPERATORS = """
sum prod coprod int iint iiint oint bigcup bigcap bigsqcup bigvee bigwedge bigoplus bigotimes
bigodot biguplus
pm mp times div setminus cap cup sqcap sqcup vee wedge lor land oplus ominus otimes oslash odot
uplus amalg wr bigcirc bigtriangleup bigtriangledown triangleleft triangleright lhd rhd
unlhd unrhd ltimes rtimes
arccos arcsin arctan arg cos cosh cot coth csc deg det dim exp gcd hom inf ker lg lim liminf
limsup ln log max min Pr sec sin sinh sup tan tanh argmax argmin operatorname limits nolimits
bmod pmod mod
"""

_RELATIONS = """
leq le geq ge neq ne equiv approx approxeq cong sim simeq propto ll gg lll ggg prec succ preceq
succeq subset supset subseteq supseteq subsetneq supsetneq sqsubset sqsupset sqsubseteq
sqsupseteq in ni notin owns mid nmid parallel nparallel perp models vdash dashv doteq asymp
bowtie smile frown leqslant geqslant lesssim gtrsim lessgtr gtrless leqq geqq nleq ngeq
triangleq coloneqq eqqcolon not
"""

_ARROWS = """
leftarrow rightarrow to gets uparrow downarrow updownarrow leftrightarrow Leftarrow Rightarrow
Uparrow Downarrow Updownarrow Leftrightarrow longleftarrow longrightarrow longleftrightarrow
Longleftarrow Longrightarrow Longleftrightarrow mapsto longmapsto hookleftarrow hookrightarrow
nearrow searrow swarrow nwarrow leftharpoonup rightharpoonup leftharpoondown rightharpoondown
rightleftharpoons implies impliedby iff xrightarrow xleftarrow
"""

_DELIMITERS = """
left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr
langle rangle lvert rvert lVert rVert vert Vert lceil rceil lfloor rfloor lbrace rbrace
lbrack rbrack
"""

_STRUCTURE = """
frac dfrac tfrac cfrac binom dbinom tbinom sqrt over choose
hat widehat tilde widetilde bar overline underline vec overrightarrow overleftarrow dot ddot
acute grave breve check mathring overbrace underbrace overset underset stackrel
text textrm textbf textit texttt textsf mathrm mathbf mathit mathsf mathtt mathcal mathbb
mathfrak mathscr boldsymbol bm pmb displaystyle textstyle scriptstyle scriptscriptstyle
quad qquad enspace thinspace medspace thickspace negthinspace
begin end substack phantom hphantom vphantom boxed color textcolor tag notag nonumber
label hline cline
"""

ALLOWED_MACROS: frozenset[str] = frozenset(
    " ".join(
        (_GREEK, _LETTERS_AND_SYMBOLS, _OPERATORS, _RELATIONS, _ARROWS, _DELIMITERS, _STRUCTURE)
    ).split()
)
"""Macro names without the backslash (``\\frac`` is ``"frac"``)."""

# One-character control symbols: spacing (``\\,`` ``\\;`` ``\\!`` ``\\ ``), escaped
# specials (``\\{`` ``\\}`` ``\\%`` ``\\$`` ``\\&`` ``\\#`` ``\\_``), ``\\|`` (a double bar)
# and ``\\\\`` (a new row).
ALLOWED_CONTROL_SYMBOLS: frozenset[str] = frozenset(",:;! {}%$&#_|\\>")

ALLOWED_ENVIRONMENTS: frozenset[str] = frozenset(
    [
        "matrix",
        "pmatrix",
        "bmatrix",
        "Bmatrix",
        "vmatrix",
        "Vmatrix",
        "smallmatrix",
        "cases",
        "dcases",
        "array",
        "aligned",
        "gathered",
        "split",
        "alignedat",
    ]
)
