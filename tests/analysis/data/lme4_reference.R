# Reference numbers for tests/analysis/test_lme.py, from R's lme4 (+ lmerTest for
# Satterthwaite df, blme for the logistic models with a gamma(2, 0) prior on the SDs) on the stored synthetic trials (analysis.simulate, seed 2024,
# larger slope SDs so that no variance is estimated at 0). Regenerate with:
#   Rscript tests/analysis/data/lme4_reference.R tests/analysis/data/lme4_reference_trials.csv.gz \
#       > tests/analysis/data/lme4_reference.json
# (Debian: apt-get install r-cran-lme4 r-cran-lmertest r-cran-blme r-cran-jsonlite). R is never needed to run the tests.
suppressMessages({library(lmerTest); library(blme); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(gzfile(args[1]))
d$side <- ifelse(d$visible_half == "left", 0.5, -0.5)
d$valence <- ifelse(d$emotion == "happiness", 0.5,
                    ifelse(d$emotion %in% c("fear", "disgust", "sadness", "anger"), -0.5, 0))
d$side_x_valence <- d$side * d$valence
d$log_rt <- log(d$rt)
ok <- d[d$correct == 1, ]
pn <- d[d$valence != 0, ]
ctrl <- glmerControl(optimizer = "bobyqa")
summ <- function(m, term) {
  cf <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  out <- list(coef = unname(cf[term, "Estimate"]), se = unname(cf[term, "Std. Error"]),
              variances = setNames(as.list(vc$vcov), paste(vc$grp, vc$var1, sep = ":")),
              deviance = if (isGLMM(m)) -2 * as.numeric(logLik(m)) else REMLcrit(m),
              singular = isSingular(m))
  if ("df" %in% colnames(cf)) out$df <- unname(cf[term, "df"])
  out$p <- unname(cf[term, ncol(cf)])
  out
}
res <- list(
  lme4_version = as.character(packageVersion("lme4")),
  blme_version = as.character(packageVersion("blme")),
  lmerTest_version = as.character(packageVersion("lmerTest")),
  rt = summ(lmer(log_rt ~ side + (1 + side || participant) + (1 + side || photo_id), ok), "side"),
  intensity = summ(lmer(intensity ~ side + (1 + side || participant) + (1 + side || photo_id), d), "side"),
  accuracy = summ(glmer(correct ~ side + (1 + side || participant) + (1 + side || photo_id), d,
                        family = binomial, control = ctrl), "side"),
  rt_valence = summ(lmer(log_rt ~ valence + (1 + valence || participant) + (1 | photo_id),
                         ok[ok$valence != 0, ]), "valence"),
  accuracy_side_by_valence = summ(glmer(correct ~ side + valence + side_x_valence +
                                          (1 + side + valence + side_x_valence || participant) +
                                          (1 + side || photo_id), pn, family = binomial, control = ctrl),
                                  "side_x_valence"),
  accuracy_blme = summ(bglmer(correct ~ side + (1 + side || participant) + (1 + side || photo_id), d,
                              family = binomial, control = ctrl, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd")), "side"),
  accuracy_side_by_valence_blme = summ(bglmer(correct ~ side + valence + side_x_valence +
                                                (1 + side + valence + side_x_valence || participant) +
                                                (1 + side || photo_id), pn, family = binomial, control = ctrl,
                                              cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd")), "side_x_valence"))
cat(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), "\n")
