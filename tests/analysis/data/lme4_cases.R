# Reference fits of the report's mixed models on the hard cases (tests/analysis/test_lme.py, the hard cases), from
# R's lme4 + lmerTest (Satterthwaite df) + blme (gamma(2) prior on the SDs), with analysis.mixed_models'
# simplification rule written out here in R: fit the maximal model; while it is singular (some theta < 1e-4)
# or lme4 reports non-convergence, drop one random term -- a zero-variance term if there is one (slopes
# before intercepts), else the slope with the smallest variance -- and refit.
#   python tests/analysis/data/make_lme4_cases.py
#   Rscript tests/analysis/data/lme4_cases.R tests/analysis/data/lme4_cases > tests/analysis/data/lme4_cases.json
# (Debian: apt-get install r-cran-lme4 r-cran-lmertest r-cran-blme r-cran-jsonlite). R is never needed to run the tests.
suppressMessages({library(lmerTest); library(blme); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
ctrl <- glmerControl(optimizer = "bobyqa")

term <- function(grp, cov = "1") list(grp = grp, cov = cov)
label <- function(t) if (t$cov == "1") sprintf("(1|%s)", t$grp) else sprintf("(0 + %s|%s)", t$cov, t$grp)
# The same string as analysis.mixed_models.formula (one || block per grouping factor).
our_formula <- function(dv, fixed, terms) {
  groups <- unique(vapply(terms, `[[`, "", "grp"))
  rnd <- vapply(groups, function(g) {
    covs <- vapply(Filter(function(t) t$grp == g, terms), `[[`, "", "cov")
    if (identical(covs, "1")) sprintf("(1 | %s)", g)
    else if ("1" %in% covs) sprintf("(%s || %s)", paste(covs, collapse = " + "), g)
    else sprintf("(0 + %s || %s)", paste(covs, collapse = " + "), g)
  }, "")
  paste0(dv, " ~ ", paste(fixed, collapse = " + "), if (length(rnd)) paste0(" + ", rnd, collapse = "") else "")
}
fit_once <- function(d, dv, fixed, terms, family, prior) {
  bars <- vapply(terms, function(t) if (t$cov == "1") sprintf("(1 | %s)", t$grp)
                 else sprintf("(0 + %s | %s)", t$cov, t$grp), "")
  f <- as.formula(paste(dv, "~", paste(c(fixed, bars), collapse = " + ")))
  if (length(terms) == 0)  # every random term dropped: ordinary (logistic) regression, as analysis.lme does
    return(if (family == "gaussian") lm(f, d) else glm(f, binomial, d))
  suppressWarnings(suppressMessages(
    if (family == "gaussian") lmer(f, d, REML = TRUE)
    else if (prior) bglmer(f, d, family = binomial, control = ctrl,
                           cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd"))
    else glmer(f, d, family = binomial, control = ctrl)))
}
# theta (lme4's relative SD) and variance of each of our terms, in our order
term_table <- function(m, terms, family) {
  if (length(terms) == 0) return(data.frame(theta = numeric(0), variance = numeric(0)))
  vc <- as.data.frame(VarCorr(m))
  vc <- vc[vc$grp != "Residual", ]
  key <- paste(sub("\\.[0-9]+$", "", vc$grp), ifelse(vc$var1 == "(Intercept)", "1", vc$var1))
  i <- match(vapply(terms, function(t) paste(t$grp, t$cov), ""), key)
  scale <- if (family == "gaussian") sigma(m) else 1
  data.frame(theta = vc$sdcor[i] / scale, variance = vc$vcov[i])
}
fit_simplified <- function(d, dv, fixed, terms, term_name, family = "gaussian", prior = FALSE) {
  requested <- terms
  dropped <- character(0)
  repeat {
    m <- fit_once(d, dv, fixed, terms, family, prior)
    tt <- term_table(m, terms, family)
    msgs <- if (length(terms)) m@optinfo$conv$lme4$messages else NULL
    converged <- is.null(msgs) || all(grepl("singular", msgs))
    singular <- any(tt$theta < 1e-4)
    if ((converged && !singular) || length(terms) == 0) break
    slope <- vapply(terms, function(t) t$cov != "1", TRUE)
    zero <- tt$theta < 1e-4
    pool <- if (any(zero)) { if (any(zero & slope)) which(zero & slope) else which(zero) }
            else if (any(slope)) which(slope) else seq_along(terms)
    i <- pool[which.min(tt$variance[pool])]
    dropped <- c(dropped, label(terms[[i]]))
    terms <- terms[-i]
  }
  cf <- summary(m)$coefficients
  tt <- term_table(m, terms, family)
  out <- list(requested_formula = our_formula(dv, fixed, requested), fitted_formula = our_formula(dv, fixed, terms),
              dropped = I(dropped), coef = unname(cf[term_name, "Estimate"]), se = unname(cf[term_name, "Std. Error"]),
              p = unname(cf[term_name, ncol(cf)]), converged = converged,
              singular = length(terms) > 0 && isSingular(m),
              variances = setNames(as.list(tt$variance),
                                   vapply(terms, function(t) paste0(t$grp, ":", if (t$cov == "1") "intercept" else t$cov), "")))
  if ("df" %in% colnames(cf)) out$df <- unname(cf[term_name, "df"])
  out
}
maximal <- function(slopes_participant, slopes_photo)
  c(list(term("participant")), lapply(slopes_participant, function(c) term("participant", c)),
    list(term("photo_id")), lapply(slopes_photo, function(c) term("photo_id", c)))
sxv <- c("side", "valence", "side_x_valence")
models <- list(
  rt = function(d) fit_simplified(d$ok, "log_rt", "side", maximal("side", "side"), "side"),
  intensity = function(d) fit_simplified(d$all, "intensity", "side", maximal("side", "side"), "side"),
  accuracy = function(d) fit_simplified(d$all, "correct", "side", maximal("side", "side"), "side", "binomial", TRUE),
  accuracy_glmer = function(d) fit_simplified(d$all, "correct", "side", maximal("side", "side"), "side", "binomial"),
  rt_valence = function(d) fit_simplified(d$ok[d$ok$valence != 0, ], "log_rt", "valence",
                                          maximal("valence", character(0)), "valence"),
  accuracy_side_by_valence = function(d) fit_simplified(d$pn, "correct", sxv, maximal(sxv, "side"),
                                                        "side_x_valence", "binomial", TRUE),
  accuracy_side_by_valence_glmer = function(d) fit_simplified(d$pn, "correct", sxv, maximal(sxv, "side"),
                                                              "side_x_valence", "binomial"))
CASES <- list(no_slopes = names(models), unbalanced = names(models), n60 = names(models),
              near_separation = c("accuracy", "accuracy_glmer"), few_participants = names(models))
res <- list(lme4_version = as.character(packageVersion("lme4")), blme_version = as.character(packageVersion("blme")),
            lmerTest_version = as.character(packageVersion("lmerTest")))
for (case in names(CASES)) {
  d <- read.csv(gzfile(file.path(args[1], paste0(case, ".csv.gz"))))
  d$side <- ifelse(d$visible_half == "left", 0.5, -0.5)
  d$valence <- ifelse(d$emotion == "happiness", 0.5, ifelse(d$emotion %in% c("fear", "disgust", "sadness", "anger"), -0.5, 0))
  d$side_x_valence <- d$side * d$valence
  d$log_rt <- log(d$rt)
  data <- list(all = d, ok = d[d$correct == 1, ], pn = d[d$valence != 0, ])
  res[[case]] <- lapply(setNames(CASES[[case]], CASES[[case]]), function(k) {
    message(case, " ", k)
    tryCatch(models[[k]](data), error = function(e) list(error = conditionMessage(e)))
  })
}
cat(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
