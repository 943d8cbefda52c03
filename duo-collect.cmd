@echo off
rem duo-collect.cmd: run the duopipe pipeline once for each kind, for
rem cmd.exe and Windows Task Scheduler.  See duo-collect(1).
rem
rem   duo-collect.cmd [-Hv] [-c conf] [-d statedir] [-f format] [-k days]
rem                   [-o outdir] [-S since] [-t seconds] [-T seconds]
rem                   [kind ...]
rem
rem Per kind, inside one run budget:
rem   duo-ckpt get KIND >cursor (a temporary file of one line)
rem   duo-get -C -s - KIND <cursor | duo-fmt | duo-ckpt commit KIND
rem The log data goes through the pipe only.  duo-get ends its output
rem with an exit line that carries its status to the commit, so the
rem pipe's status (the commit's) is the status of the whole chain.
rem
rem Every path comes from the arguments or from this script's folder,
rem never from the working directory: relative arguments are taken
rem relative to this folder; the defaults are duo.conf, state\ and out\
rem here.  The tools are run from this folder only.  The exit status is
rem the worst of all kinds: 2, then 1, then 3, then 0, so that Task
rem Scheduler's "Last Run Result" shows it.
rem
rem cmd.exe traps avoided on purpose: no "A || B", "A && B" or
rem "call other.cmd" (wine 8 gets them wrong); delayed expansion only
rem to compare two values already read, never while reading one; no
rem path inside a parenthesised block or passed to "call" (a ")" would
rem end the block, call doubles "^" and expands "%" again); messages
rem that hold a path print it through a for variable, so "&" and "^"
rem in it are not parsed.
setlocal EnableExtensions DisableDelayedExpansion

set "HERE=%~dp0"
pushd "%HERE%"
if errorlevel 1 goto nohere
set "CONF=%HERE%duo.conf"
set "STATE=%HERE%state"
set "OUT=%HERE%out"
set "FMT=mpe"
set "HOPT="
set "VOPT="
set "KOPT="
set "SOPT="
set "CAD=60"
set "BUDGET=240"
set "KINDS="
set "WORST=0"
set "STOP="

:args
set "A=%~1"
if not defined A goto argsdone
if "%A%"=="-c" goto optc
if "%A%"=="-d" goto optd
if "%A%"=="-o" goto opto
if "%A%"=="-f" goto optf
if "%A%"=="-k" goto optk
if "%A%"=="-S" goto opts
if "%A%"=="-t" goto optt
if "%A%"=="-T" goto optbig
if "%A%"=="-H" goto opth
if "%A%"=="-v" goto optv
if "%A%"=="-Hv" goto opthv
if "%A%"=="-vH" goto opthv
if "%A:~0,1%"=="-" goto usage
set "OK="
for %%K in (auth admin telephony activity offline trustmonitor) do if "%%K"=="%A%" set "OK=1"
if not defined OK goto badkind
set "KINDS=%KINDS% %A%"
shift
goto args

:optc
if "%~2"=="" goto usage
for %%F in ("%~2") do set "CONF=%%~fF"
goto shift2
:optd
if "%~2"=="" goto usage
for %%F in ("%~2") do set "STATE=%%~fF"
goto shift2
:opto
if "%~2"=="" goto usage
for %%F in ("%~2") do set "OUT=%%~fF"
goto shift2
:optf
set "FMT=%~2"
set "OK="
for %%X in (mpe json kv cef legacy) do if "%%X"=="%~2" set "OK=1"
if not defined OK goto badfmt
goto shift2
:optk
set "V=%~2"
call :number -k
if errorlevel 1 goto badnum
if "%V%"=="0" goto badkeep
set "KOPT=-k %V%"
goto shift2
:opts
set "V=%~2"
if not defined V goto usage
set "BAD="
for /f "delims=0123456789TZdhms:+.-" %%X in ("%V%") do set "BAD=1"
if defined BAD goto badsince
set "SOPT=-S %V%"
goto shift2
:optt
set "V=%~2"
call :number -t
if errorlevel 1 goto badnum
set /a CAD=V
if %CAD% LSS 1 set "CAD=1"
goto shift2
:optbig
set "V=%~2"
call :number -T
if errorlevel 1 goto badnum
set /a BUDGET=V
goto shift2
:opth
set "HOPT=-H"
shift
goto args
:optv
set "VOPT=-v"
shift
goto args
:opthv
set "HOPT=-H"
set "VOPT=-v"
shift
goto args
:shift2
shift
shift
goto args

:argsdone
rem auth last: the busiest log gets the time the others leave.
if not defined KINDS set "KINDS= admin telephony activity auth"
rem The health line is an mpe line: on by default for mpe only.
if "%FMT%"=="mpe" set "HOPT=-H"
rem A directory argument must not end in "\": before a closing quote
rem the C runtime reads \" as a quote.
if "%STATE:~-1%"=="\" set "STATE=%STATE:~0,-1%"
if "%STATE:~-1%"==":" set "STATE=%STATE%\."
if "%OUT:~-1%"=="\" set "OUT=%OUT:~0,-1%"
if "%OUT:~-1%"==":" set "OUT=%OUT%\."

for %%T in (duo-ckpt duo-get duo-fmt) do if not exist "%HERE%%%T.exe" set "MISSING=%%T"
if defined MISSING goto notool
rem The output and state directories: there, or their parent there
rem (duo-ckpt makes one level).
if exist "%OUT%\" goto outok
for %%F in ("%OUT%\..") do if not exist "%%~fF\" goto noout
:outok
if exist "%STATE%\" goto stateok
for %%F in ("%STATE%\..") do if not exist "%%~fF\" goto nostate
:stateok
if not exist "%CONF%" goto noconf

set "TMPD=%TEMP%"
if not defined TMPD set "TMPD=%STATE%"
if "%TMPD:~-1%"=="\" set "TMPD=%TMPD:~0,-1%"
set "LEFT=0"
for %%K in (%KINDS%) do set /a LEFT+=1
set "NKINDS=%LEFT%"
call :now
set "START=%NOW%"
set "FIRST=1"
for %%K in (%KINDS%) do call :runkind %%K
popd
endlocal & exit /b %WORST%

rem ---- runkind KIND: the pipeline for one kind ----
:runkind
set "K=%~1"
set /a LEFT-=1
if defined STOP exit /b 0
set "TOPT="
if "%BUDGET%"=="0" goto budgetok
if not defined START goto static
call :now
if not defined NOW goto static
set /a ELAPSED=NOW-START
if %ELAPSED% LSS 0 set /a ELAPSED+=86400
set /a SHARE=(BUDGET-ELAPSED)/(LEFT+1)
goto share
:static
set /a SHARE=BUDGET/NKINDS
:share
if %SHARE% LSS 1 goto spent
set "TOPT=-T %SHARE%"
:budgetok
set "CUR=%TMPD%\duo-collect-%K%-%RANDOM%%RANDOM%.cursor"
"%HERE%duo-ckpt.exe" -d "%STATE%" get %K% >"%CUR%"
set "RC=%ERRORLEVEL%"
if "%RC%"=="3" goto busy
if not "%RC%"=="0" goto getfailed

"%HERE%duo-get.exe" -C %VOPT% -c "%CONF%" %SOPT% %TOPT% -R "%STATE%\%K%.pace" -s - %K% <"%CUR%" | "%HERE%duo-fmt.exe" -f %FMT% | "%HERE%duo-ckpt.exe" -d "%STATE%" commit -o "%OUT%" -t %CAD% %KOPT% %HOPT% %K%
set "RC=%ERRORLEVEL%"
call :note %K% %RC%
if not defined FIRST goto done
set "FIRST="
if not "%RC%"=="3" goto done
if "%LEFT%"=="0" goto done
rem Duo not reached for the first kind (no progress): the other kinds
rem would only spend their own retries on the same cause.
rem The cursor before and after: the same size and the same first 1023
rem bytes (set /p) mean no progress.  (wine 8's fc always says "same".)
"%HERE%duo-ckpt.exe" -d "%STATE%" get %K% >"%CUR%.after" 2>nul
for %%F in ("%CUR%") do set "Z1=%%~zF"
for %%F in ("%CUR%.after") do set "Z2=%%~zF"
if not "%Z1%"=="%Z2%" goto done
set "C1="
set "C2="
set /p C1=<"%CUR%"
set /p C2=<"%CUR%.after"
rem Compared with delayed expansion, so that the quotes in the JSON are
rem not parsed; the values were read with it off.
set "SAME="
setlocal EnableDelayedExpansion
if "!C1!"=="!C2!" set "SAME=1"
endlocal & set "SAME=%SAME%"
set "C1="
set "C2="
if not defined SAME goto done
set "STOP=1"
echo duo-collect: %K%: no progress; not trying the other kinds 1>&2
goto done

:busy
echo duo-collect: %K%: skipped: another run is collecting it 1>&2
goto done
:getfailed
echo duo-collect: %K%: duo-ckpt get exited %RC% 1>&2
call :note %K% %RC% quiet
goto done
:spent
echo duo-collect: %K%: skipped: run budget spent 1>&2
exit /b 0
:done
del /q "%CUR%" "%CUR%.after" 2>nul
exit /b 0

rem ---- note KIND STATUS [quiet]: report a failure, keep the worst ----
:note
if "%~2"=="0" exit /b 0
if "%~3"=="" echo duo-collect: %~1: exited %~2 1>&2
set "S=%~2"
if not "%S%"=="1" if not "%S%"=="2" if not "%S%"=="3" set "S=1"
call :rank %S% NEW
call :rank %WORST% OLD
if %NEW% GTR %OLD% set "WORST=%S%"
exit /b 0

:rank
if "%~1"=="0" set "%~2=0"
if "%~1"=="3" set "%~2=1"
if "%~1"=="1" set "%~2=2"
if "%~1"=="2" set "%~2=3"
exit /b 0

rem ---- now: NOW = seconds since midnight, from %TIME% ----
rem %TIME% is H:MM:SS.hh (24 hours) with the locale's separators on
rem Windows; anything else (wine 8 gives "10:03 PM") leaves NOW
rem undefined, and each kind then gets an equal share of the budget.
:now
set "NOW="
set "T0=%TIME: =0%"
for /f "tokens=1-3 delims=:.," %%a in ("%T0%") do call :hms %%a %%b %%c
exit /b 0
:hms
if "%~3"=="" exit /b 0
set "X=%~1%~2%~3"
set "BAD="
for /f "delims=0123456789" %%x in ("%X%") do set "BAD=1"
if defined BAD exit /b 0
set /a "NOW=(100%~1 %% 100)*3600+(100%~2 %% 100)*60+(100%~3 %% 100)"
exit /b 0

rem ---- number OPT: V must be a decimal number ----
:number
if not defined V exit /b 1
set "BAD="
for /f "delims=0123456789" %%X in ("%V%") do set "BAD=1"
if defined BAD exit /b 1
if not "%V:~9%"=="" exit /b 1
rem no leading zeros: set /a would read them as octal
if "%V:~0,1%"=="0" if not "%V%"=="0" exit /b 1
exit /b 0

rem ---- errors ----
:usage
echo usage: duo-collect [-Hv] [-c conf] [-d statedir] [-f format] [-k days] [-o outdir] [-S since] [-t seconds] [-T seconds] [kind ...] 1>&2
goto fail2
:badkind
for %%P in ("%A%") do echo duo-collect: %%~P: unknown kind 1>&2
goto fail2
:badfmt
for %%P in ("%FMT%") do echo duo-collect: %%~P: unknown format (mpe, json, kv, cef, legacy) 1>&2
goto fail2
:badnum
for %%P in ("%V%") do echo duo-collect: %A% %%~P: not a number 1>&2
goto fail2
:badkeep
echo duo-collect: -k 0: keep published files at least 1 day 1>&2
goto fail2
:badsince
for %%P in ("%V%") do echo duo-collect: -S %%~P: not a time 1>&2
goto fail2
:notool
for %%P in ("%HERE%%MISSING%.exe") do echo duo-collect: %%~P: not found 1>&2
goto fail2
:noout
for %%P in ("%OUT%") do echo duo-collect: %%~P: output directory: its parent does not exist 1>&2
goto fail2
:nostate
for %%P in ("%STATE%") do echo duo-collect: %%~P: state directory: its parent does not exist 1>&2
goto fail2
:noconf
for %%P in ("%CONF%") do echo duo-collect: %%~P: no such file 1>&2
goto fail2
:nohere
echo duo-collect: cannot change to the script's folder 1>&2
endlocal & exit /b 2
:fail2
popd
endlocal & exit /b 2
