# The report's mixed models in R (lme4 + lmerTest + blme), timed, for benchmarks/bench_report_scaling.py.
#   Rscript benchmarks/bench_report_lme4.R LOGDIR
# Prints one line per model and two totals, in CPU seconds (user + system; elapsed in brackets): the five
# models of the report (lmer x 3, bglmer with a gamma(2) SD prior x 2) and the two glmer sensitivity fits.
suppressMessages({library(lmerTest); library(blme)})
args <- commandArgs(trailingOnly = TRUE)
files <- list.files(args[1], pattern = "\\.csv$", full.names = TRUE)
d <- do.call(rbind, lapply(files, function(f) read.csv(f)[, c("participant", "photo_id", "emotion",
                                                             "visible_half", "correct", "intensity", "rt")]))
d$side <- ifelse(d$visible_half == "left", 0.5, -0.5)
d$valence <- ifelse(d$emotion == "happiness", 0.5,
                    ifelse(d$emotion %in% c("fear", "disgust", "sadness", "anger"), -0.5, 0))
d$side_x_valence <- d$side * d$valence
d$log_rt <- log(d$rt)
ok <- d[d$correct == 1, ]
pn <- d[d$valence != 0, ]
ctrl <- glmerControl(optimizer = "bobyqa")
fits <- list(
  rt = function() summary(lmer(log_rt ~ side + (1 + side || participant) + (1 + side || photo_id), ok)),
  intensity = function() summary(lmer(intensity ~ side + (1 + side || participant) + (1 + side || photo_id), d)),
  accuracy = function() summary(bglmer(correct ~ side + (1 + side || participant) + (1 + side || photo_id), d,
                                       family = binomial, control = ctrl, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd"))),
  rt_valence = function() summary(lmer(log_rt ~ valence + (1 + valence || participant) + (1 | photo_id),
                                       ok[ok$valence != 0, ])),
  accuracy_side_by_valence = function() summary(bglmer(
    correct ~ side + valence + side_x_valence + (1 + side + valence + side_x_valence || participant) +
      (1 + side || photo_id), pn, family = binomial, control = ctrl, cov.prior = gamma(shape = 2, rate = 0, posterior.scale = "sd"))),
  glmer_accuracy = function() summary(glmer(correct ~ side + (1 + side || participant) + (1 + side || photo_id),
                                            d, family = binomial, control = ctrl)),
  glmer_accuracy_side_by_valence = function() summary(glmer(
    correct ~ side + valence + side_x_valence + (1 + side + valence + side_x_valence || participant) +
      (1 + side || photo_id), pn, family = binomial, control = ctrl)))
t <- sapply(names(fits), function(k) {
  s <- system.time(suppressWarnings(suppressMessages(fits[[k]]())))
  cpu <- s[["user.self"]] + s[["sys.self"]]
  cat(sprintf("R %s: %.2f s (%.2f s elapsed)\n", k, cpu, s[["elapsed"]]))
  c(cpu = cpu, elapsed = s[["elapsed"]])
})
cat(sprintf("R five models: %.2f s (%.2f s elapsed)\n", sum(t["cpu", 1:5]), sum(t["elapsed", 1:5])))
cat(sprintf("R glmer sensitivity fits: %.2f s (%.2f s elapsed)\n", sum(t["cpu", 6:7]), sum(t["elapsed", 6:7])))
