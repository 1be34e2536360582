# Golden values for trialanalysis.models.iv (run: Rscript make_golden.R).
# AER::ivreg (2SLS) with classical SEs and sandwich::vcovHC HC0/HC1, t tests on
# the residual df as lmtest::coeftest reports them, on:
#  - cigarettes: AER's CigarettesSW, 1995 (Stock & Watson's textbook example);
#  - trial: a simulated two-arm trial with non-compliance written out here
#    (receipt = arm & sessions >= 12; baseline as covariate);
#  - example: the CACE frame of the shipped PREPARE example data
#    (cace_example_frame.csv, written by the Python test helper), if present.
suppressPackageStartupMessages({library(AER); library(sandwich); library(lmtest)})
data("CigarettesSW", package = "AER")
cig <- subset(CigarettesSW, year == "1995")
cig <- data.frame(
  lpacks = log(cig$packs), lprice = log(cig$price / cig$cpi),
  lincome = log(cig$income / cig$population / cig$cpi),
  tdiff = (cig$taxs - cig$tax) / cig$cpi, tax = cig$tax / cig$cpi
)
write.csv(cig, "cigarettes.csv", row.names = FALSE)

set.seed(20261201)
n <- 180
arm <- rep(0:1, each = n / 2)
sessions <- ifelse(arm == 1, rbinom(n, 20, 0.6), 0)
received <- as.integer(arm == 1 & sessions >= 12)
baseline <- round(rnorm(n, 40, 12), 1)
y <- round(0.6 * baseline - 8 * received + rnorm(n, 0, 8 + 3 * received), 1)
trial <- data.frame(y = y, arm = arm, received = received, baseline = baseline,
                    sessions = sessions)
write.csv(trial, "trial.csv", row.names = FALSE)

cases <- list(
  list(name = "cigarettes", data = cig, f = lpacks ~ lincome + lprice | lincome + tdiff + tax),
  list(name = "cigarettes_just", data = cig, f = lpacks ~ lprice | tdiff),
  list(name = "trial", data = trial, f = y ~ baseline + received | baseline + arm),
  list(name = "trial_wald", data = trial, f = y ~ received | arm)
)
if (file.exists("cace_example_frame.csv")) {
  ex <- read.csv("cace_example_frame.csv")
  cases[[length(cases) + 1]] <- list(name = "example", data = ex,
                                     f = y ~ baseline + received | baseline + arm)
}
rows <- list()
for (case in cases) {
  fit <- ivreg(case$f, data = case$data)
  for (type in c("classical", "HC0", "HC1")) {
    v <- if (type == "classical") vcov(fit) else vcovHC(fit, type = type)
    ct <- coeftest(fit, vcov. = v)
    ci <- coefci(fit, vcov. = v, level = 0.95)
    rows[[length(rows) + 1]] <- data.frame(
      case = case$name, vcov = type, term = rownames(ct), estimate = ct[, 1],
      std_error = ct[, 2], statistic = ct[, 3], p_value = ct[, 4],
      conf_low = ci[, 1], conf_high = ci[, 2], df = fit$df.residual
    )
  }
  fs <- summary(fit, diagnostics = TRUE)$diagnostics
  rows[[length(rows)]]$weak_f <- fs["Weak instruments", "statistic"]
}
out <- do.call(rbind, lapply(rows, function(r) { if (is.null(r$weak_f)) r$weak_f <- NA; r }))
write.csv(out, "ivreg_golden.csv", row.names = FALSE)
