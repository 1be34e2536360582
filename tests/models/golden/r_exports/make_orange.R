# R's Orange (age in days, up to 1582) with a correlated random slope: lme4
# stops at REMLcrit 279.907 (warning "nearly unidentifiable"); the minimum lies at a
# correlation of -1 (REMLcrit 279.812), which ours must find and describe.
# Run from the repository root: Rscript tests/models/golden/r_exports/make_orange.R
suppressPackageStartupMessages(library(lme4))
here <- "tests/models/golden/r_exports"
orange <- as.data.frame(datasets::Orange)
orange$Tree <- as.character(orange$Tree)
write.csv(orange, file.path(here, "orange.csv"), row.names = FALSE)
m <- lmer(circumference ~ age + (age | Tree), data = orange)
writeLines(format(REMLcrit(m), digits = 15), file.path(here, "orange_lme4_remlcrit.txt"))
