# Old Faithful geyser (Azzalini and Bowman, 1990): eruption durations and waiting times.
# Summarises the 272 eruptions, estimates the standard error of the mean waiting time with
# the bootstrap (2000 resamples, deliberately unseeded, so it varies a little from run to
# run), and draws the kernel density estimate of the waiting times, whose modes it counts.
suppressPackageStartupMessages(library(jsonlite))

geyser <- read.csv("data/faithful.csv")
RESAMPLES <- 2000

boot_means <- replicate(RESAMPLES, mean(sample(geyser$waiting, replace = TRUE)))
density_waiting <- density(geyser$waiting)  # Gaussian kernel, R's default bandwidth
# A mode is a point where the estimated density turns from rising to falling.
turns <- diff(sign(diff(density_waiting$y)))
mode_at <- density_waiting$x[which(turns == -2) + 1]

dir.create("results", showWarnings = FALSE)
summary <- list(
  n = nrow(geyser),
  mean_eruption_minutes = round(mean(geyser$eruptions), 3),
  mean_waiting_minutes = round(mean(geyser$waiting), 3),
  share_eruptions_over_3_minutes = round(mean(geyser$eruptions > 3), 4),
  bootstrap = list(resamples = RESAMPLES, se_mean_waiting = round(sd(boot_means), 3))
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)

png("results/waiting_density.png", width = 700, height = 500)
hist(geyser$waiting, breaks = 20, freq = FALSE, col = "grey90", xlab = "waiting time to next eruption (min)",
     main = "Old Faithful: waiting times with kernel density estimate")
lines(density_waiting, lwd = 2, col = "blue")
invisible(dev.off())

# What the figure shows, for a script to check: how many modes the density curve has, and where.
figure <- list(density_modes = length(mode_at), mode_locations = round(mode_at, 1))
write_json(figure, "results/density_modes.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
print(summary)
